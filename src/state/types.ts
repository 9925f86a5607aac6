/**
 * The run's state file (`runs/<id>/state.json`): everything `resume`, `status` and `rollback`
 * need after a crash, a kill or a reboot. Versioned; written atomically by RunStore.
 */
export const STATE_VERSION = 1;

export type StepStatus = 'pending' | 'running' | 'done' | 'failed';

export interface StepRecord {
  id: string;
  title: string;
  status: StepStatus;
  startedAt?: string;
  endedAt?: string;
  attempts: number;
  error?: { message: string; remedy?: string };
}

export type RunStatus =
  | 'in-progress'
  | 'failed'
  | 'completed'
  | 'rolling-back'
  | 'rolled-back'
  | 'rollback-failed'
  | 'finalized';

/**
 * One change the run made to the host, recorded *before* it is made, so that rollback can
 * undo it from the state file alone (newest first), even in a later process.
 */
export interface JournalEntry {
  seq: number;
  at: string;
  stepId: string;
  /** Names an undo handler (src/steps/undo.ts), e.g. "moved-data-root". */
  kind: string;
  data: Record<string, unknown>;
  undoneAt?: string;
  undoError?: string;
}

/** A finished unit of work inside a step (one image saved, one volume archived). */
export interface UnitRecord {
  doneAt: string;
  details: Record<string, unknown>;
}

export interface RunState {
  version: typeof STATE_VERSION;
  runId: string;
  toolVersion: string;
  createdAt: string;
  updatedAt: string;
  status: RunStatus;
  /** Global options the run was started with, so resume/rollback talk to the same daemon. */
  options: { dockerHost: string; daemonConfig: string };
  steps: StepRecord[];
  units: Record<string, UnitRecord>;
  journal: JournalEntry[];
  /** Facts found while running that later steps and rollback need (e.g. where the old data-root went). */
  notes: Record<string, unknown>;
}
