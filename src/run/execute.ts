/**
 * Runs a migration's remaining steps through the task list, and decides what a failure means:
 * an interruption stops at a safe point (exit 130, resumable); a failure once the host was
 * changed rolls back automatically when the answers allow it (exit 3), or stops for the
 * operator with the state kept (exit 4).
 */
import { ExitCode, InterruptedError, OperatorError } from '../errors.js';
import { DaemonStartError } from '../host/service-manager.js';
import { stepById } from '../steps/catalog.js';
import { executeStep } from '../steps/runner.js';
import { stopWhatWasStopped, UNDO_HANDLERS } from '../steps/undo-handlers.js';
import { describeUndo } from '../steps/undo-descriptions.js';
import { undoJournal, type UndoFailure } from '../steps/undo.js';
import type { Phase } from '../plan/phases.js';
import type { StepProgress } from '../steps/step.js';
import type { RunLog } from './run-log.js';
import { verifyHost, writeVerifyReport, type VerifyResult } from '../verify/index.js';
import type { MigrationContext } from '../steps/context.js';
import { rescueOf, rescueRollbackWords } from '../steps/rescue.js';

/** A step as the screen shows it: run() executes it (or skips it when it is done already). */
export interface ShownStep {
  id: string;
  title: string;
  phase: Phase;
  run(progress: StepProgress): Promise<'done' | 'skipped'>;
}

/**
 * Where a run shows itself, given by the command layer (src/cli) so that orchestration does not
 * depend on how it is drawn: the task list, messages for the operator, and the run log.
 */
export interface Screen {
  /** Runs the steps in order, showing their progress; rejects with the failing step's own error. */
  runSteps(steps: ShownStep[]): Promise<void>;
  /** Messages for the operator (stderr). */
  tell(text: string): void;
  log: RunLog;
}

/** Runs the steps not done yet; returns the exit code. */
export async function executeRun(ctx: MigrationContext, screen: Screen): Promise<number> {
  const tasks: ShownStep[] = ctx.store.state.steps.map((record) => {
    const step = stepById(record.id);
    return { id: step.id, title: record.title, phase: step.phase, run: (progress) => executeStep(step, ctx, progress) };
  });
  await ctx.store.setStatus('in-progress');
  try {
    await screen.runSteps(tasks);
  } catch (error) {
    return failed(ctx, screen, error);
  }
  await ctx.store.setStatus('completed');
  const differences = Number(ctx.store.state.notes.verifyDifferences ?? 0);
  const notStarted = (ctx.store.state.notes.containersNotStarted as string[] | undefined) ?? [];
  screen.tell(
    differences
      ? `The run finished, but verify found ${differences} difference(s): see ${ctx.store.path('report.txt')}. \`devmapper-migrate rollback\` puts the host back.\n`
      : `The host runs ${ctx.daemon.targetDriver} and matches its inventory (report: ${ctx.store.path('report.txt')}). When you are satisfied, \`devmapper-migrate finalize\` deletes the backups.\n`,
  );
  if (notStarted.length) screen.tell(`Containers that did not start: ${notStarted.join(', ')}.\n`);
  return differences ? ExitCode.findings : ExitCode.ok;
}

/** True when the run changed the host (a journalled change not undone yet). */
function hostChanged(ctx: MigrationContext): boolean {
  return ctx.store.state.journal.some((entry) => !entry.undoneAt);
}

async function failed(ctx: MigrationContext, screen: Screen, error: unknown): Promise<number> {
  if (error instanceof InterruptedError) {
    await ctx.store.setStatus('in-progress');
    screen.log.line(`interrupted: ${error.message}`);
    screen.tell(`${error.message}\n  ${error.remedy}\n`);
    return ExitCode.interrupted;
  }
  const failedStep = ctx.store.state.steps.find((s) => s.status === 'failed')?.id ?? 'a step';
  const reason = error instanceof Error ? error.message : String(error);
  const daemonLog = error instanceof DaemonStartError && error.logLines.length ? `\nThe daemon's last log lines:\n${error.logLines.map((l) => `  ${l}`).join('\n')}` : '';
  if (!(error instanceof OperatorError)) screen.log.line(`internal error: ${(error as Error)?.stack ?? reason}`);

  if (!hostChanged(ctx) || !ctx.answers.rollbackOnFailure) {
    await ctx.store.setStatus('failed');
    const remedy = error instanceof OperatorError ? `${error.remedy}\n  ` : '';
    screen.tell(`The run stopped at ${failedStep}: ${reason}${daemonLog}\n  ${remedy}The state is kept: \`devmapper-migrate resume\` continues, \`devmapper-migrate rollback\` undoes what was done.\n`);
    if (!(error instanceof OperatorError)) throw error;
    return ExitCode.needsOperator;
  }

  screen.tell(`The run failed at ${failedStep}: ${reason}${daemonLog}\nRolling back automatically (rollbackOnFailure)…\n`);
  const outcome = await rollBack(ctx, screen);
  if (outcome.failures.length) {
    screen.tell(`${describeRollbackFailures(outcome.failures)}\n`);
    return ExitCode.needsOperator;
  }
  if (outcome.rescueWords) {
    screen.tell(`${outcome.rescueWords}\nCause: ${reason}${daemonLog}\n`);
    return ExitCode.rolledBack;
  }
  screen.tell(
    `The host is back on ${ctx.daemon.sourceDriver}${outcome.verify?.differences ? `, but verify found ${outcome.verify.differences} difference(s) (see ${ctx.store.path('report.txt')})` : ' with its original images and containers'}.\nCause: ${reason}${daemonLog}\n`,
  );
  return ExitCode.rolledBack;
}

export interface RollbackOutcome {
  failures: UndoFailure[];
  verify?: VerifyResult;
  /** Rescue mode: no daemon can read the data it put back; what the host is now, and the ways on. */
  rescueWords?: string;
}

/** Undoes the journal newest first, then verifies the host against the original inventory. */
export async function rollBack(ctx: MigrationContext, screen: Pick<Screen, 'tell' | 'log'>): Promise<RollbackOutcome> {
  await ctx.store.setStatus('rolling-back');
  const failures = await undoJournal(ctx.store, ctx, UNDO_HANDLERS, (line) => screen.tell(`${line}\n`), describeUndo);
  if (failures.length) {
    await ctx.store.setStatus('rollback-failed');
    return { failures };
  }
  const rescue = rescueOf(ctx.store);
  if (rescue) {
    // No engine here can read the devicemapper data (the installed one refuses it, the legacy one is stopped): nothing to verify against.
    await ctx.store.setStatus('rolled-back');
    return { failures, rescueWords: rescueRollbackWords(ctx.store.runId, rescue, ctx.daemon) };
  }
  const stopped = await stopWhatWasStopped(ctx);
  if (stopped.length) screen.tell(`Stopped ${stopped.join(', ')} again: the old daemon started ${stopped.length === 1 ? 'it' : 'them'} by itself, and ${stopped.length === 1 ? 'it was' : 'they were'} not running before the run.\n`);
  const verify = await verifyHost({
    docker: await ctx.docker(),
    host: ctx.host,
    recorded: ctx.recorded,
    // No file-by-file comparison: what the containers wrote after the cutover was carried
    // back on purpose, so the volumes' files may rightly differ from the original record.
    volumeTrees: undefined,
    expect: { driver: ctx.daemon.sourceDriver, configMustBeClean: false },
    daemonConfigPath: ctx.daemon.configPath,
  });
  await writeVerifyReport(ctx.store.runDir, verify);
  await ctx.store.setNote('verifyDifferences', verify.differences);
  await ctx.store.setStatus('rolled-back');
  return { failures, verify };
}

/** What is left to do by hand after undo steps failed, one entry each. */
export function describeRollbackFailures(failures: readonly UndoFailure[]): string {
  return [
    `The rollback could not undo ${failures.length} change(s); the others were undone. The host needs you:`,
    ...failures.map((f) => `  - ${describeUndo(f.entry)} (step ${f.entry.stepId}): ${f.message}`),
    'Fix what is named above, then run `devmapper-migrate rollback` again: it retries only what is not undone yet.',
  ].join('\n');
}
