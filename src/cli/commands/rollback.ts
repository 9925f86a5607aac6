import { ExitCode, OperatorError, UsageError } from '../../errors.js';
import { describeRollbackFailures, rollBack } from '../../run/execute.js';
import { interruptSignal, lockStateDir, openMigration, readRunParts, requireCurrentRun, withRunOptions } from '../../run/session.js';
import type { CommandContext } from '../context.js';
import { inquirerPrompter } from '../prompter.js';
import { confirmPlan } from '../wizard.js';
import { canPrompt } from './run.js';

/**
 * `rollback [--yes]`: undoes the current run's journal newest first (from any point, also after
 * a finished run, until finalize), then verifies the host against the original inventory.
 * An undo that fails does not stop the others; each is reported with what to do by hand.
 */
export async function rollbackCommand(base: CommandContext, options: Record<string, unknown>): Promise<number> {
  const lock = await lockStateDir(base, 'rollback');
  const interrupt = interruptSignal(base.stderr);
  try {
    const store = await requireCurrentRun(base, 'roll back');
    const cli = withRunOptions(base, store);
    if (store.state.status === 'finalized') {
      throw new OperatorError(`Run ${store.runId} was finalized: its backups are deleted, so it cannot be rolled back.`, 'Migrate back with a new run if you must.');
    }
    if (!options.yes) {
      if (!canPrompt(cli)) throw new UsageError('Rollback needs a confirmation, and there is no terminal to ask on.', 'Run `devmapper-migrate rollback --yes`.');
      const open = store.state.journal.filter((e) => !e.undoneAt).length;
      if (!(await confirmPlan(inquirerPrompter(), `Undo ${open} change(s) of run ${store.runId} and put the host back on its original driver?`))) return ExitCode.needsOperator;
    }
    const parts = await readRunParts(cli, store);
    const { ctx, screen } = await openMigration(cli, parts, interrupt.signal);
    screen.log.line(`rollback of run ${store.runId} started`);
    const outcome = await rollBack(ctx, screen);
    if (outcome.failures.length) {
      screen.tell(`${describeRollbackFailures(outcome.failures)}\n`);
      return ExitCode.needsOperator;
    }
    const differences = outcome.verify?.differences ?? 0;
    screen.tell(
      differences
        ? `Rolled back, but verify found ${differences} difference(s) from the original inventory: see ${store.path('report.txt')}.\n`
        : `Rolled back: the host runs ${parts.daemon.sourceDriver} again and matches its original inventory (report: ${store.path('report.txt')}).\n`,
    );
    return differences ? ExitCode.findings : ExitCode.ok;
  } finally {
    interrupt.dispose();
    await lock.release();
  }
}
