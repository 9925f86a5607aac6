import { OperatorError } from '../errors.js';
import { plannedStep, type ParamsOf, type Plan, type StepId } from '../plan/plan.js';

/**
 * The parameters the plan gave step `id` (plan.json): what the step executes, so that it does
 * what `--dry-run` printed and never derives it again. A plan.json written before steps had
 * parameters (an older version of the tool) has none: that version must finish the run.
 */
export function paramsOf<I extends StepId>(ctx: { plan: Pick<Plan, 'steps'>; store: { runId: string } }, id: I): ParamsOf<I> {
  const step = plannedStep(ctx.plan, id);
  if (!step) {
    throw new OperatorError(
      `The plan of run ${ctx.store.runId} (plan.json) has no parameters for step ${id}: it was written by an older version of devmapper-migrate.`,
      'Finish the run with the version that started it, or undo it with `devmapper-migrate rollback`.',
    );
  }
  return step.params;
}
