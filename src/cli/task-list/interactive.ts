/**
 * The terminal view: listr2's default renderer, one line per phase with its steps beneath, the
 * step's latest line (or transfer) under it, ✔/↓/✖ as steps end.
 */
import { Listr, PRESET_TIMER, type ListrTaskWrapper } from 'listr2';
import type { Phase } from '../../plan/phases.js';
import { errorMessage, runStepWithEvents, throttleTransfers, type EventSink, type RunnableStep, type StepEvent } from './events.js';

/** How the phases read on screen (DESIGN.md: the phases, in order). */
export const PHASE_TITLES: Record<Phase, string> = {
  preflight: 'Preflight',
  export: 'Export (containers still running)',
  quiesce: 'Quiesce (containers stop)',
  cutover: 'Cutover (Docker stopped)',
  restore: 'Restore',
  verify: 'Verify',
};

/** A screen redraw per chunk of a 1 GB save would cost more than the save; a few a second read the same. */
const DISPLAY_INTERVAL_MS = 250;

export interface PhaseGroup {
  phase: Phase;
  steps: RunnableStep[];
}

/** Consecutive steps of the same phase, in order. */
export function groupByPhase(steps: readonly RunnableStep[]): PhaseGroup[] {
  const groups: PhaseGroup[] = [];
  for (const step of steps) {
    const last = groups[groups.length - 1];
    if (last && last.phase === step.phase) last.steps.push(step);
    else groups.push({ phase: step.phase, steps: [step] });
  }
  return groups;
}

// listr2's task wrapper type, with the renderer parameters left open: only output/skip are used.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type TaskWrapper = ListrTaskWrapper<unknown, any, any>;

/** A transfer not updated for this long has ended (its total is often an estimate, never reached). */
const TRANSFER_STALE_MS = 3000;

/**
 * The transfers in progress as one line, one part per label: "a:1: 120 MB of 300 MB, 90 MB/s ·
 * b:2: 40 MB, 35 MB/s". Records `event` (a transfer) and forgets the ended and stale ones.
 */
export function activeTransfersLine(active: Map<string, { text: string; at: number }>, event: StepEvent): string {
  const label = event.label ?? '';
  const now = event.time.getTime();
  const complete = event.totalBytes !== undefined && event.doneBytes === event.totalBytes;
  if (complete) active.delete(label);
  else active.set(label, { text: event.text ?? '', at: now });
  for (const [key, entry] of active) if (now - entry.at > TRANSFER_STALE_MS) active.delete(key);
  return active.size > 0 ? [...active.values()].map((entry) => entry.text).join('  ·  ') : (event.text ?? '');
}

function display(task: TaskWrapper, step: RunnableStep): EventSink {
  const active = new Map<string, { text: string; at: number }>();
  return (event) => {
    if (event.event === 'transfer') task.output = activeTransfersLine(active, event);
    else if (event.event === 'say') task.output = event.text ?? '';
    else if (event.event === 'skipped') task.skip(`${step.title} (already done)`);
  };
}

export interface InteractiveOptions {
  /** Gets every event (the run log). */
  record: EventSink;
  /** Called before each step: throws to stop the list at a safe point (Ctrl+C). */
  beforeStep(step: RunnableStep): void;
  signal?: AbortSignal;
}

/**
 * Runs the steps under listr2 on the terminal. listr2 owns process.stdout/stderr while it draws
 * (it holds back other writes and prints them after), so this mode needs a TTY and ignores any
 * other writer. A failing step's error object is rethrown unchanged; listr2 shows only its message.
 */
export async function runInteractive(steps: readonly RunnableStep[], options: InteractiveOptions): Promise<void> {
  let failure: { error: unknown } | undefined;
  const runStep = async (step: RunnableStep, task: TaskWrapper): Promise<void> => {
    options.beforeStep(step);
    // stderr is held back while listr2 draws, so the step itself says that Ctrl+C was heard.
    const onAbort = () => {
      task.output = 'Stopping at the next safe point (Ctrl+C again to quit at once)…';
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const show = throttleTransfers(display(task, step), DISPLAY_INTERVAL_MS);
    try {
      await runStepWithEvents(step, (event) => {
        options.record(event);
        show(event);
      });
    } catch (error) {
      failure ??= { error };
      throw error instanceof Error ? error : new Error(errorMessage(error));
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
  };

  const list = new Listr(
    groupByPhase(steps).map((group) => ({
      title: PHASE_TITLES[group.phase],
      task: (_ctx: unknown, phaseTask: TaskWrapper) =>
        phaseTask.newListr(
          group.steps.map((step) => ({ title: step.title, task: (_c: unknown, task: TaskWrapper) => runStep(step, task) })),
          { concurrent: false, exitOnError: true },
        ),
    })),
    {
      concurrent: false,
      exitOnError: true,
      // listr2's own SIGINT handler exits the process (127); the run's handler stops at a safe point instead.
      registerSignalListeners: false,
      renderer: 'default',
      rendererOptions: {
        // Keep every step on screen after its phase ends: the finished list is the run's summary.
        collapseSubtasks: false,
        // The failed step keeps its title, with the message beneath it; never a stack.
        showErrorMessage: true,
        collapseErrors: false,
        timer: PRESET_TIMER,
      },
    },
  );
  try {
    await list.run();
  } catch (error) {
    throw failure ? failure.error : error;
  }
  if (failure) throw failure.error;
}
