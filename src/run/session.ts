/**
 * Opening a run for work: the context its steps need, from a new run's freshly taken facts or
 * from an existing run's files (resume, rollback), plus the screen, the run log, the lock and
 * Ctrl+C handling that every changing command shares.
 */
import type { ResolvedAnswers } from '../config/answers-types.js';
import { RunLog } from './run-log.js';
import type { CommandContext } from './command-context.js';
import { OperatorError } from '../errors.js';
import { VERSION } from '../version.js';
import { NodeHost } from '../host/node-host.js';
import { detectServiceManager, type ServiceManager } from '../host/service-manager.js';
import { prepareStateDir, RunStore } from '../state/run-store.js';
import { acquireLock, type HeldLock } from '../state/lock.js';
import { dockerConnection, type DaemonPlace, type MigrationContext } from '../steps/context.js';
import { runDockerHost } from '../steps/rescue.js';
import type { Screen, ShownStep } from './execute.js';
import type { Plan } from '../plan/plan.js';
import { ANSWERS_FILE, INVENTORY_FILE, PLAN_FILE, RUN_LOG_FILE, type RecordedInventory } from '../record/run-files.js';

/** Takes the state dir's lock for `command`; a stale lock is taken over with a warning. */
export async function lockStateDir(cli: CommandContext, command: string): Promise<HeldLock> {
  await prepareStateDir(cli.options.stateDir);
  const lock = await acquireLock(cli.options.stateDir, command);
  if (lock.takenOverFrom) {
    cli.stderr(`Note: took over a stale lock of ${lock.takenOverFrom.command} (pid ${lock.takenOverFrom.pid}, started ${lock.takenOverFrom.startedAt}); that process is gone.\n`);
  }
  return lock;
}

/** A run by id (`status RUN-ID`, `rollback RUN-ID`), else the current one; an OperatorError when there is none. */
export async function requireRun(cli: CommandContext, what: string, runId: string | undefined): Promise<RunStore> {
  return runId === undefined ? requireCurrentRun(cli, what) : RunStore.open(cli.options.stateDir, runId);
}

/** After these a run holds nothing the host needs; until then its journal and backups are the way back. */
const SETTLED_STATUSES = new Set(['rolled-back', 'finalized']);

/**
 * Refuses a new run while the current one is not settled: a new run becomes the current one,
 * and the old run, whose backups are the only way back to the host as it was, would be left
 * behind (`resume`, `verify`, `finalize` see only the current run). Run before and again under
 * the lock: another process may have started a run in between.
 */
export async function refuseUnsettledRun(stateDir: string): Promise<void> {
  // A current run whose state file cannot be read is not "no run": openCurrent throws, naming the file.
  const current = await RunStore.openCurrent(stateDir);
  if (!current || SETTLED_STATUSES.has(current.state.status)) return;
  const id = current.runId;
  if (current.state.status === 'completed') {
    throw new OperatorError(
      `Run ${id} in ${stateDir} migrated this host (completed ${current.state.updatedAt}) and is not finalized: its backups are the only way back to the host as it was, and a new run would leave them unreachable.`,
      `Keep the migration with \`devmapper-migrate finalize\` (after a clean \`devmapper-migrate verify\`), or undo it with \`devmapper-migrate rollback ${id}\`, before starting another run.`,
    );
  }
  throw new OperatorError(
    `Run ${id} in ${stateDir} is not finished (${current.state.status}).`,
    `Continue it with \`devmapper-migrate resume\`, or undo it with \`devmapper-migrate rollback ${id}\`, before starting another.`,
  );
}

/** The current run, or an OperatorError saying there is none and what to type. */
export async function requireCurrentRun(cli: CommandContext, what: string): Promise<RunStore> {
  const store = await RunStore.openCurrent(cli.options.stateDir);
  if (!store) {
    throw new OperatorError(`There is no run to ${what} in ${cli.options.stateDir}.`, 'Start one with `devmapper-migrate run` (or pass the --state-dir the run used).', 2);
  }
  return store;
}

/** What a run's context is built from: its state, answers, records, plan and daemon facts. */
export type ContextParts = Pick<MigrationContext, 'store' | 'answers' | 'secrets' | 'recorded' | 'plan' | 'daemon' | 'service'>;

/** Ctrl+C aborts this signal: steps stop at their next safe point. A second Ctrl+C exits at once. */
export function interruptSignal(tell: (text: string) => void): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130);
    tell('\nStopping at the next safe point (Ctrl+C again to quit at once, which also leaves a resumable state)…\n');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  return { signal: controller.signal, dispose: () => process.off('SIGINT', onSigint) };
}

/** Which tool and runtime this process is, for run.log: a report from a host starts from it. */
export function runtimeLine(): string {
  const flags = process.execArgv.length ? ` ${process.execArgv.join(' ')}` : '';
  return `devmapper-migrate ${VERSION} on node ${process.version}${flags} (${process.platform}-${process.arch})`;
}

/** How the command layer shows a run's steps (the task list): given the run's log and Ctrl+C signal. */
export type StepShower = (steps: ShownStep[], options: { log: RunLog; signal: AbortSignal }) => Promise<void>;

/** Builds the steps' context and the screen for a run's process. */
export async function openMigration(
  cli: CommandContext,
  parts: ContextParts,
  signal: AbortSignal,
  showSteps: StepShower,
): Promise<{ ctx: MigrationContext; screen: Screen }> {
  const log = await RunLog.open(parts.store.path(RUN_LOG_FILE));
  log.line(runtimeLine());
  const host = new NodeHost(cli.options.hostRoot);
  host.withholdEnv([parts.answers.registry?.passwordEnv]);
  // Every command the run makes, in run.log: what an operator retraces, and what `--dry-run` promised.
  host.onCommand((line) => log.line(`$ ${line}`));
  const ctx: MigrationContext = {
    ...parts,
    host,
    dockerHost: cli.options.dockerHost,
    env: process.env,
    signal,
    log: (line) => log.line(line),
    // Rescue mode: the legacy side daemon's socket until stop-daemon, the installed engine's after.
    ...dockerConnection(runDockerHost(parts.store, cli.options.dockerHost)),
  };
  const screen: Screen = {
    runSteps: (steps) => showSteps(steps, { log, signal }),
    tell: (text) => {
      for (const line of text.trimEnd().split('\n')) log.line(line);
      cli.stderr(text);
    },
    log,
  };
  return { ctx, screen };
}

/** The command's options with the Docker host and daemon config the run started with: a later command talks to the same daemon. */
export function withRunOptions(cli: CommandContext, store: RunStore): CommandContext {
  const { dockerHost, daemonConfig } = store.state.options;
  if (dockerHost !== cli.options.dockerHost) cli.stderr(`Note: run ${store.runId} talks to ${dockerHost}, as it did when it started.\n`);
  return { ...cli, options: { ...cli.options, dockerHost, daemonConfig } };
}

/** The parts of an existing run's context, read back from its files (resume, rollback). */
export async function readRunParts(cli: CommandContext, store: RunStore): Promise<ContextParts> {
  const answers = await store.readJson<ResolvedAnswers>(ANSWERS_FILE);
  const recorded = await store.readJson<RecordedInventory>(INVENTORY_FILE);
  // Written with answers.json and inventory.json, before the state file (RunStore.create).
  const plan = (await store.readJson<Plan>(PLAN_FILE)) ?? { target: answers?.target ?? 'overlay2', steps: [], notes: [] };
  const daemon = store.state.notes.daemon as DaemonPlace | undefined;
  if (!answers || !recorded || !daemon) {
    throw new OperatorError(
      `Run ${store.runId} is missing ${!answers ? ANSWERS_FILE : !recorded ? INVENTORY_FILE : 'its daemon notes'}: it stopped before it changed anything.`,
      'Nothing needs undoing. Start a new run with `devmapper-migrate run`.',
    );
  }
  // The manager chosen when the run started, checked then against the running daemon; state
  // files from before it was recorded detect it again.
  const service = (store.state.notes.service as ServiceManager | undefined) ?? (await detectServiceManager(new NodeHost(cli.options.hostRoot), answers.service));
  return { store, answers, secrets: {}, recorded, plan, daemon, service };
}
