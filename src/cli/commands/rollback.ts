import { taskListFor } from '../task-list.js';
import { ExitCode, OperatorError, UsageError } from '../../errors.js';
import { describeRollbackFailures, rollBack } from '../../run/execute.js';
import { interruptSignal, lockStateDir, openMigration, readRunParts, requireRun, withRunOptions } from '../../run/session.js';
import { RunStore } from '../../state/run-store.js';
import type { CommandContext } from '../../run/command-context.js';
import { inquirerPrompter } from '../prompter.js';
import { confirmPlan } from '../wizard.js';
import { describeOpenUndos } from '../../steps/undo-descriptions.js';
import { canPrompt } from './run.js';
import { NodeHost } from '../../host/node-host.js';
import type { DaemonPlace } from '../../steps/context.js';
import { rescueOf } from '../../steps/rescue.js';
import { driverWasRemoved, engineRefusesRollback, enginesOnHost } from '../../run/engine-guard.js';

/** What a rollback leaves for the operator to clean up, and the command that does it (finalize). */
const LEFTOVERS_NOTE =
  "The run's archives, and the target's data-root if one was started, are kept; `devmapper-migrate finalize` deletes them when you no longer need them.";

/**
 * The run to undo: the one named, else the current one. An older run is undone only when the
 * newer current run is settled (rolled back or finalized): its changes were made on top of the
 * older run's, and undoing the older first would put the host back under a half-undone newer run.
 */
async function runToRollBack(cli: CommandContext, runId: string | undefined): Promise<RunStore> {
  const store = await requireRun(cli, 'roll back', runId);
  if (runId === undefined) return store;
  const current = await RunStore.openCurrent(cli.options.stateDir);
  if (current && current.runId !== runId && !['rolled-back', 'finalized'].includes(current.state.status)) {
    throw new OperatorError(
      `Run ${runId} is older than the current run ${current.runId} (${current.state.status}), which changed the host after it.`,
      `Roll back ${current.runId} first (\`devmapper-migrate rollback ${current.runId}\`), then ${runId}.`,
    );
  }
  return store;
}

/**
 * Refuses a rollback that would put a driver back under an engine that removed it (the host
 * was upgraded to Engine v25+ after the migration): dockerd would not start again.
 */
async function refuseUnderNewerEngine(cli: CommandContext, store: RunStore): Promise<void> {
  const daemon = store.state.notes.daemon as DaemonPlace | undefined;
  // A rescue-mode run is rolled back under the newer engine: the data goes back, the engine is left as it was (the words say so).
  if (!daemon || rescueOf(store) || !driverWasRemoved(daemon.sourceDriver)) return;
  const engines = await enginesOnHost(new NodeHost(cli.options.hostRoot), cli.options.dockerHost);
  const refusal = engineRefusesRollback(
    { runId: store.runId, sourceDriver: daemon.sourceDriver, targetDriver: daemon.targetDriver, sourceVersion: daemon.serverVersion },
    engines,
  );
  if (refusal) throw refusal;
}

/**
 * `rollback [--yes] [RUN-ID]`: undoes a run's journal (default: the current run's) newest first
 * (from any point, also after a finished run, until finalize), then verifies the host against the original inventory.
 * An undo that fails does not stop the others; each is reported with what to do by hand.
 */
export async function rollbackCommand(base: CommandContext, options: Record<string, unknown>): Promise<number> {
  const lock = await lockStateDir(base, 'rollback');
  const interrupt = interruptSignal(base.stderr);
  try {
    const store = await runToRollBack(base, typeof options.runId === 'string' ? options.runId : undefined);
    const cli = withRunOptions(base, store);
    if (store.state.status === 'finalized') {
      throw new OperatorError(`Run ${store.runId} was finalized: its backups are deleted, so it cannot be rolled back.`, 'Migrate back with a new run if you must.');
    }
    if (store.state.status === 'rolled-back') {
      cli.stdout(`Run ${store.runId} is already rolled back: nothing is left to undo.\n${LEFTOVERS_NOTE}\n`);
      return ExitCode.ok;
    }
    const undos = describeOpenUndos(store.state.journal);
    if (undos.length) await refuseUnderNewerEngine(cli, store);
    cli.stderr(
      undos.length
        ? `Rollback of run ${store.runId} will, newest change first:\n${undos.map((line) => `  ${line}`).join('\n')}\nthen check the host against the inventory taken before the run.\n`
        : `Run ${store.runId} changed nothing on the host yet; rollback only checks it against the inventory taken before the run.\n`,
    );
    if (!options.yes) {
      if (!canPrompt(cli)) throw new UsageError('Rollback needs a confirmation, and there is no terminal to ask on.', 'Run `devmapper-migrate rollback --yes`.');
      if (!(await confirmPlan(inquirerPrompter(), `Roll back run ${store.runId} and put the host back on its original driver?`))) {
        cli.stderr('Rollback not started: nothing was changed. The run stays as it was (see `devmapper-migrate status`).\n');
        return ExitCode.needsOperator;
      }
    }
    const parts = await readRunParts(cli, store);
    const { ctx, screen } = await openMigration(cli, parts, interrupt.signal, taskListFor(cli));
    screen.log.line(`rollback of run ${store.runId} started`);
    const outcome = await rollBack(ctx, screen);
    if (outcome.failures.length) {
      screen.tell(`${describeRollbackFailures(outcome.failures)}\n`);
      return ExitCode.needsOperator;
    }
    if (outcome.rescueWords) {
      screen.tell(`${outcome.rescueWords}\n${LEFTOVERS_NOTE}\n`);
      return ExitCode.ok;
    }
    const differences = outcome.verify?.differences ?? 0;
    screen.tell(
      differences
        ? `Rolled back, but verify found ${differences} difference(s) from the original inventory: see ${store.path('report.txt')}.\n`
        : `Rolled back: the host runs ${parts.daemon.sourceDriver} again and matches its original inventory (report: ${store.path('report.txt')}).\n`,
    );
    screen.tell(`${LEFTOVERS_NOTE}\n`);
    return differences ? ExitCode.findings : ExitCode.ok;
  } finally {
    interrupt.dispose();
    await lock.release();
  }
}
