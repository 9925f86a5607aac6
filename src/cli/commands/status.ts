import type { ResolvedAnswers } from '../../config/answers-types.js';
import { ExitCode } from '../../errors.js';
import { ANSWERS_FILE } from '../../record/run-files.js';
import { RunStore } from '../../state/run-store.js';
import type { RunState } from '../../state/types.js';
import type { CommandContext } from '../../run/command-context.js';

/** The command an operator should type next, and why. */
export function nextCommand(state: RunState): { command: string; why: string } {
  const failed = state.steps.find((s) => s.status === 'failed');
  switch (state.status) {
    case 'in-progress':
      return { command: 'devmapper-migrate resume', why: 'the run was interrupted; resume redoes the step in progress (or `devmapper-migrate rollback` undoes the run)' };
    case 'failed':
      return { command: 'devmapper-migrate resume --yes', why: `step ${failed?.id ?? '?'} failed: fix the cause first (or \`devmapper-migrate rollback\`)` };
    case 'completed':
      return Number(state.notes.verifyDifferences ?? 0) > 0
        ? { command: 'devmapper-migrate rollback', why: 'verify found differences (see report.txt); roll back, or fix them and run `devmapper-migrate verify`' }
        : { command: 'devmapper-migrate finalize', why: 'the run verified clean; finalize deletes the backups once you are satisfied (until then `rollback` is possible)' };
    case 'rolling-back':
    case 'rollback-failed':
      return { command: 'devmapper-migrate rollback', why: 'the rollback did not finish; it retries only what is not undone yet' };
    case 'rolled-back':
    case 'finalized':
      return { command: 'devmapper-migrate run', why: `the run is ${state.status}; a new run starts from a fresh inventory` };
  }
}

const MARK: Record<string, string> = { done: '✔', running: '…', failed: '✖', pending: ' ' };
const UNDONE_MARK = '↺';

/**
 * What the host is like right now, read from the steps: whether its containers and Docker are
 * down, which is what an operator of an interrupted run needs to know first.
 */
export function hostStateNow(state: RunState): string {
  const status = (id: string) => state.steps.find((s) => s.id === id)?.status;
  const begun = (id: string) => status(id) !== undefined && status(id) !== 'pending';
  switch (state.status) {
    case 'rolled-back':
      return 'back as it was before the run: every change was undone.';
    case 'finalized':
      return 'migrated; the backups are deleted.';
    case 'completed':
      return 'migrated: Docker runs on the target driver with the containers restored.';
  }
  // A step that was running (or failed) when the run stopped may have done part of its work.
  if (begun('stop-daemon') && status('start-daemon') !== 'done') {
    return status('stop-daemon') === 'done'
      ? 'Docker is stopped, and so are the containers: the host is down until you resume or roll back.'
      : 'the containers are stopped and Docker may be stopping or stopped: the host is down until you resume or roll back.';
  }
  if (begun('stop-containers') && status('start-containers') !== 'done') {
    if (begun('start-daemon')) return 'Docker runs on the target driver, but the containers are not all restored and started yet.';
    return status('stop-containers') === 'done'
      ? 'the containers are stopped (Docker still runs on the original driver).'
      : 'some containers may be stopped (the run stopped while stopping them; Docker still runs on the original driver).';
  }
  return 'nothing was stopped yet: the containers still run as before.';
}

function stepLine(step: RunState['steps'][number], rolledBack: boolean): string {
  if (rolledBack && step.status === 'done') return `  ${UNDONE_MARK} ${step.title} [${step.id}] (undone by the rollback)`;
  const detail = step.status === 'failed' ? `: ${step.error?.message ?? ''}` : step.status === 'running' ? ' (in progress when the run stopped)' : '';
  return `  ${MARK[step.status] ?? ' '} ${step.title} [${step.id}]${detail}`;
}

/** `status [--json] [RUN-ID]`: a run (default: the current one), its answers, its steps, and what to type next. */
export async function statusCommand(cli: CommandContext, options: Record<string, unknown>): Promise<number> {
  const runId = typeof options.runId === 'string' ? options.runId : undefined;
  const store = runId === undefined ? await RunStore.openCurrent(cli.options.stateDir) : await RunStore.open(cli.options.stateDir, runId);
  if (!store) {
    if (cli.options.json) cli.stdout(JSON.stringify({ run: null, next: { command: 'devmapper-migrate run' } }, null, 2) + '\n');
    else cli.stdout(`No run in ${cli.options.stateDir}. Start one with \`devmapper-migrate run\`.\n`);
    return ExitCode.ok;
  }
  const { state } = store;
  const answers = await store.readJson<ResolvedAnswers>(ANSWERS_FILE);
  const next = nextCommand(state);
  const inProgress = state.steps.find((s) => s.status === 'running' || s.status === 'failed');
  if (cli.options.json) {
    cli.stdout(
      JSON.stringify(
        {
          run: { id: state.runId, status: state.status, createdAt: state.createdAt, updatedAt: state.updatedAt, dir: store.runDir, options: state.options },
          answers: answers ?? null,
          steps: state.steps,
          inProgress: inProgress?.id ?? null,
          hostNow: hostStateNow(state),
          openJournalEntries: state.journal.filter((e) => !e.undoneAt).length,
          verifyDifferences: state.notes.verifyDifferences ?? null,
          next,
        },
        null,
        2,
      ) + '\n',
    );
    return ExitCode.ok;
  }
  const lines = [
    `Run ${state.runId}: ${state.status} (started ${state.createdAt}, last change ${state.updatedAt})`,
    `Directory: ${store.runDir}`,
    ...(answers ? [`Answers: target ${answers.target}${answers.directLvm ? ` on ${answers.directLvm.device}` : ''}; data-root kept by ${answers.backup.dataRoot}; backups in ${answers.backup.directory}; rollbackOnFailure ${answers.rollbackOnFailure}`] : []),
    `The host now: ${hostStateNow(state)}`,
    'Steps:',
    ...state.steps.map((step) => stepLine(step, state.status === 'rolled-back')),
    `Next: ${next.command}  (${next.why})`,
  ];
  cli.stdout(lines.join('\n') + '\n');
  return ExitCode.ok;
}
