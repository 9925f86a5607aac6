import type { ResolvedAnswers } from '../../config/answers-types.js';
import { ExitCode } from '../../errors.js';
import { ANSWERS_FILE } from '../../run/run-files.js';
import { RunStore } from '../../state/run-store.js';
import type { RunState } from '../../state/types.js';
import type { CommandContext } from '../context.js';

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
    'Steps:',
    ...state.steps.map((s) => `  ${MARK[s.status] ?? ' '} ${s.title} [${s.id}]${s.status === 'failed' ? `: ${s.error?.message ?? ''}` : s.status === 'running' ? ' (in progress when the run stopped)' : ''}`),
    `Next: ${next.command}  (${next.why})`,
  ];
  cli.stdout(lines.join('\n') + '\n');
  return ExitCode.ok;
}
