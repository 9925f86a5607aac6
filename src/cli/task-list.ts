/**
 * The run's task list (issue 6): the steps in order, grouped by phase, with their progress.
 * Three views of the same events (task-list/events.ts):
 * - 'interactive': listr2's default renderer on the terminal;
 * - 'plain': one timestamped line per event, no ANSI, for logs and Ansible;
 * - 'json': one JSON object per line.
 * Every event, in every mode, also goes to run.log.
 *
 * 'plain' is our own printer rather than listr2's SimpleRenderer: SimpleRenderer prints icons and
 * local "HH:MM:SS" times, writes to process.stdout itself and would need a custom logger to reach
 * `write`; the contract wants ISO times, the phase and step id on every line, and throttled
 * transfers, which a twenty-line printer gives exactly and testably.
 */
import { InterruptedError } from '../errors.js';
import type { CommandContext } from '../run/command-context.js';
import type { ShownStep } from '../run/execute.js';
import type { RunLog } from '../run/run-log.js';
import type { StepShower } from '../run/session.js';
import {
  describeEvent,
  jsonLine,
  oneLine,
  plainLine,
  runStepWithEvents,
  throttleTransfers,
  type EventSink,
} from './task-list/events.js';
import { runInteractive } from './task-list/interactive.js';

export type { StepEvent, StepEventKind } from './task-list/events.js';

export type TaskListMode = 'interactive' | 'plain' | 'json';

/** Picks the view: the listr2 display only on a terminal, never for --json or in CI. */
export function chooseTaskListMode(options: { json: boolean; stdoutIsTTY: boolean; ci: boolean }): TaskListMode {
  if (options.json) return 'json';
  return options.stdoutIsTTY && !options.ci ? 'interactive' : 'plain';
}

export type TaskListStep = ShownStep;

export interface TaskListOptions {
  mode: TaskListMode;
  /** Where 'plain' and 'json' lines go (stdout). 'interactive' draws on the terminal itself (listr2). */
  write: (text: string) => void;
  log: RunLog;
  /** Once aborted (Ctrl+C), no further step starts; the running step stops at its own safe point. */
  signal?: AbortSignal;
}

/** Transfers in the log and in plain output: at most one line per step this often, plus the final one. */
const PLAIN_TRANSFER_INTERVAL_MS = 5_000;
/** JSON readers draw their own progress bars: a line a second keeps them moving without flooding. */
const JSON_TRANSFER_INTERVAL_MS = 1_000;

/**
 * Runs the steps in order, showing their progress; rejects with the failing step's own error
 * (unchanged) after the list shows it failed. Later steps do not run.
 */
export async function runTaskList(steps: TaskListStep[], options: TaskListOptions): Promise<void> {
  const record = throttleTransfers((event) => options.log.line(oneLine(describeEvent(event))), PLAIN_TRANSFER_INTERVAL_MS);
  const beforeStep = (step: TaskListStep) => {
    if (options.signal?.aborted) throw new InterruptedError(`${step.phase}, before ${step.id}`);
  };
  if (options.mode === 'interactive') {
    await runInteractive(steps, { record, beforeStep, signal: options.signal });
    return;
  }
  const show: EventSink =
    options.mode === 'json'
      ? throttleTransfers((event) => options.write(jsonLine(event)), JSON_TRANSFER_INTERVAL_MS)
      : throttleTransfers((event) => options.write(plainLine(event)), PLAIN_TRANSFER_INTERVAL_MS);
  for (const step of steps) {
    beforeStep(step);
    await runStepWithEvents(step, (event) => {
      record(event);
      show(event);
    });
  }
}

/** The task list for a command's run: the view its options and terminal call for, on its stdout. */
export function taskListFor(cli: CommandContext): StepShower {
  const mode = chooseTaskListMode({ json: cli.options.json, stdoutIsTTY: process.stdout.isTTY === true, ci: Boolean(process.env.CI) });
  return (steps, { log, signal }) => runTaskList(steps, { mode, write: cli.stdout, log, signal });
}
