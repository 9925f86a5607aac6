import { taskListFor } from '../task-list.js';
import { ExitCode, OperatorError, UsageError } from '../../errors.js';
import { executeRun } from '../../run/execute.js';
import { interruptSignal, lockStateDir, openMigration, readRunParts, requireCurrentRun, withRunOptions } from '../../run/session.js';
import type { CommandContext } from '../../run/command-context.js';
import { inquirerPrompter } from '../prompter.js';
import { confirmPlan } from '../wizard.js';
import { canPrompt } from './run.js';
import { ensureRescueDaemon } from '../../run/rescue.js';
import { rescueOf, sideDaemonServes } from '../../steps/rescue.js';

/**
 * `resume [--yes]`: continues the current run after a crash, a kill, Ctrl+C or a reboot. Done
 * steps are skipped and the interrupted one is redone (steps are idempotent). After a step
 * that *failed*, it asks first (or needs --yes): the cause may not be fixed.
 */
export async function resumeCommand(base: CommandContext, options: Record<string, unknown>): Promise<number> {
  const lock = await lockStateDir(base, 'resume');
  const interrupt = interruptSignal(base.stderr);
  try {
    let store = await requireCurrentRun(base, 'resume');
    const cli = withRunOptions(base, store);
    const status = store.state.status;
    if (status === 'completed' || status === 'finalized') {
      cli.stderr(`Run ${store.runId} is ${status}; there is nothing to resume.\n`);
      return ExitCode.ok;
    }
    if (status === 'rolled-back' || status === 'rolling-back' || status === 'rollback-failed') {
      // Nothing to resume after a finished rollback is like no run at all (exit 2); a rollback
      // that stopped half-way needs the operator (exit 4).
      if (status === 'rolled-back') throw new UsageError(`Run ${store.runId} was rolled back: there is nothing to resume.`, 'Start a new run with `devmapper-migrate run`.');
      throw new OperatorError(`Run ${store.runId} is ${status}: it cannot be resumed.`, 'Finish the rollback with `devmapper-migrate rollback`.');
    }
    const failed = store.state.steps.find((s) => s.status === 'failed');
    if (failed && !options.yes) {
      const question = `Step ${failed.id} failed: ${failed.error?.message ?? 'unknown error'}\nHas the cause been fixed? Continue with that step?`;
      if (!canPrompt(cli)) {
        throw new UsageError(`Step ${failed.id} of run ${store.runId} failed: ${failed.error?.message ?? ''}`, 'Fix the cause, then run `devmapper-migrate resume --yes` (or `devmapper-migrate rollback`).');
      }
      if (!(await confirmPlan(inquirerPrompter(), question))) return ExitCode.needsOperator;
    }
    const parts = await readRunParts(cli, store);
    store = parts.store;
    const { ctx, screen } = await openMigration(cli, parts, interrupt.signal, taskListFor(cli));
    screen.log.line(`run ${store.runId} resumed`);
    const rescue = rescueOf(store);
    if (rescue && sideDaemonServes(store)) await ensureRescueDaemon(ctx.host, rescue, parts.answers.service.timeoutSeconds, (line) => screen.tell(`${line}\n`));
    return await executeRun(ctx, screen);
  } finally {
    interrupt.dispose();
    await lock.release();
  }
}
