import type { Phase } from '../plan/phases.js';
import type { RunStore } from '../state/run-store.js';

/** What a step may show while it works (listr2 task output, or a log line when not on a TTY). */
export interface StepProgress {
  /** A line of progress, e.g. "Saving image app/web:1.0 (212 MB)…". */
  say(text: string): void;
  /** Bytes done (and the total, when known) of the long unit in progress, e.g. one image's save. */
  transfer(update: { label: string; doneBytes: number; totalBytes?: number }): void;
}

/** What every step gets; the concrete context adds the Docker client, Host, answers, inventory. */
export interface BaseStepContext {
  store: RunStore;
  /** Appends a timestamped line to run.log (and the verbose output). */
  log(line: string): void;
  /** Aborted on the operator's Ctrl+C: the step stops at its next safe point. */
  signal?: AbortSignal;
}

/**
 * One step of the migration: idempotent, so that `resume` can run a half-done step again.
 * A change to the host is journalled (store.journal) *before* it is made, so rollback can undo it.
 */
export interface Step<C extends BaseStepContext = BaseStepContext> {
  id: string;
  title: string;
  phase: Phase;
  run(ctx: C, progress: StepProgress): Promise<void>;
}
