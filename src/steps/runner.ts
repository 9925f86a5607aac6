import { InterruptedError, OperatorError } from '../errors.js';
import type { BaseStepContext, Step, StepProgress } from './step.js';
import { testKillPoint } from './test-hooks.js';

export type StepOutcome = 'done' | 'skipped';

/**
 * Runs one step under the state file's bookkeeping: its start is saved before it acts and its
 * end after, so a crash leaves "running" behind and `resume` redoes that step (steps are
 * idempotent). A step already done is skipped.
 */
export async function executeStep<C extends BaseStepContext>(
  step: Step<C>,
  ctx: C,
  progress: StepProgress,
): Promise<StepOutcome> {
  const { store } = ctx;
  const record = store.step(step.id);
  if (record.status === 'done') return 'skipped';
  testKillPoint(step.id, 'before');
  await store.updateStep(step.id, {
    status: 'running',
    startedAt: new Date().toISOString(),
    endedAt: undefined,
    attempts: record.attempts + 1,
    error: undefined,
  });
  ctx.log(`step ${step.id}: started (attempt ${record.attempts})`);
  try {
    await step.run(ctx, progress);
  } catch (error) {
    // Ctrl+C also aborts what is in flight (a save, a load, a push), which then fails with its
    // own abort error: that is the interruption too, not a failure (and no reason to roll back).
    const interrupted = error instanceof InterruptedError ? error : ctx.signal?.aborted ? new InterruptedError(`step ${step.id} (${step.title})`) : undefined;
    if (interrupted) {
      // Stopped at a safe point on Ctrl+C: not a failure, `resume` redoes it without asking.
      await store.updateStep(step.id, { status: 'pending', endedAt: new Date().toISOString() });
      ctx.log(`step ${step.id}: interrupted${interrupted === error ? '' : ` (${(error as Error).message})`}`);
      throw interrupted;
    }
    await store.updateStep(step.id, {
      status: 'failed',
      endedAt: new Date().toISOString(),
      error: {
        message: (error as Error).message,
        remedy: error instanceof OperatorError ? error.remedy : undefined,
      },
    });
    ctx.log(`step ${step.id}: failed: ${(error as Error).message}`);
    throw error;
  }
  await store.updateStep(step.id, { status: 'done', endedAt: new Date().toISOString() });
  ctx.log(`step ${step.id}: done`);
  testKillPoint(step.id, 'after');
  return 'done';
}
