import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OperatorError } from '../errors.js';
import { VERSION } from '../version.js';
import { writeFileAtomic } from '../fs/atomic-file.js';
import { makeDirectories } from '../fs/make-directories.js';
import { STATE_VERSION, type JournalEntry, type RunState, type StepRecord } from './types.js';

/**
 * The state directory's layout (docs/contract.md "Files"): `current` names the active run,
 * `runs/<id>/` holds its state, inventory, answers, plan, archives and reports.
 * Our own files, not system files, so they are handled here rather than through Host.
 */
export const RUN_SUBDIRECTORIES = ['images', 'volumes', 'layers', 'config-backup'] as const;

/** Creates the state dir 0700, or refuses one that another user owns or others can write. */
export async function prepareStateDir(stateDir: string): Promise<void> {
  await makeDirectories(stateDir, 0o700);
  const info = await lstat(stateDir);
  if (!info.isDirectory()) {
    throw new OperatorError(`The state directory ${stateDir} is not a directory.`, 'Pass --state-dir with a directory path.');
  }
  const uid = process.getuid?.() ?? info.uid;
  if (info.uid !== uid) {
    throw new OperatorError(
      `The state directory ${stateDir} belongs to uid ${info.uid}, not to this user (uid ${uid}).`,
      'Use a state directory of your own (--state-dir), or fix its owner with chown.',
    );
  }
  if ((info.mode & 0o022) !== 0) {
    throw new OperatorError(
      `The state directory ${stateDir} can be written by other users (mode ${(info.mode & 0o777).toString(8)}).`,
      `Run "chmod 700 ${stateDir}" or pass another --state-dir.`,
    );
  }
  await chmod(stateDir, 0o700);
}

/** A run id: the start time and a few random characters, usable as a directory name. */
export function newRunId(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${randomBytes(2).toString('hex')}`;
}

/** What a new run starts with, besides its options and steps. */
export interface RunStart {
  now?: Date;
  runId?: string;
  notes?: Record<string, unknown>;
  /** JSON documents of the run by file name (answers.json, plan.json, inventory.json). */
  documents?: Record<string, unknown>;
}

/** The active run's files and state; every change is saved atomically before it returns. */
export class RunStore {
  /** Saves run one after the other: units of a step finish concurrently, and one temporary file name serves all. */
  private saving: Promise<void> = Promise.resolve();

  private constructor(
    readonly stateDir: string,
    readonly state: RunState,
  ) {}

  get runId(): string {
    return this.state.runId;
  }

  get runDir(): string {
    return join(this.stateDir, 'runs', this.state.runId);
  }

  /** A path inside the run directory. */
  path(...parts: string[]): string {
    return join(this.runDir, ...parts);
  }

  /**
   * Starts a new run and makes it the current one. The run's documents (answers, plan,
   * inventory) and notes are written before its state file and before `current` names it: a
   * run killed at any point here is either not current or complete, never a current run
   * that `resume` and `rollback` cannot read.
   */
  static async create(
    stateDir: string,
    options: RunState['options'],
    steps: { id: string; title: string }[],
    start: RunStart = {},
  ): Promise<RunStore> {
    const now = start.now ?? new Date();
    const runId = start.runId ?? newRunId(now);
    await prepareStateDir(stateDir);
    const at = now.toISOString();
    const state: RunState = {
      version: STATE_VERSION,
      runId,
      toolVersion: VERSION,
      createdAt: at,
      updatedAt: at,
      status: 'in-progress',
      options,
      steps: steps.map(({ id, title }) => ({ id, title, status: 'pending', attempts: 0 })),
      units: {},
      journal: [],
      notes: { ...start.notes },
    };
    const store = new RunStore(stateDir, state);
    await mkdir(store.runDir, { recursive: true, mode: 0o700 });
    for (const sub of RUN_SUBDIRECTORIES) await mkdir(store.path(sub), { recursive: true, mode: 0o700 });
    for (const [name, value] of Object.entries(start.documents ?? {})) await store.writeJson(name, value);
    await store.save();
    await writeFileAtomic(join(stateDir, 'current'), `${state.runId}\n`);
    return store;
  }

  /** The run named by `<state-dir>/current`, or undefined when there is none. */
  static async openCurrent(stateDir: string): Promise<RunStore | undefined> {
    const runId = await currentRunId(stateDir);
    return runId === undefined ? undefined : new RunStore(stateDir, await readState(join(stateDir, 'runs', runId, 'state.json')));
  }

  /** A run by its id (`status RUN-ID`, `rollback RUN-ID`); an unknown id names the runs there are. */
  static async open(stateDir: string, runId: string): Promise<RunStore> {
    const known = await listRunIds(stateDir);
    if (!RUN_ID.test(runId) || !known.includes(runId)) {
      throw new OperatorError(
        `There is no run ${runId.slice(0, 40)} in ${stateDir}.`,
        known.length ? `The runs there are: ${known.join(', ')}.` : 'There is no run at all there (pass the --state-dir the run used).',
        2,
      );
    }
    return new RunStore(stateDir, await readState(join(stateDir, 'runs', runId, 'state.json')));
  }

  save(): Promise<void> {
    const write = () => {
      this.state.updatedAt = new Date().toISOString();
      return writeFileAtomic(this.path('state.json'), JSON.stringify(this.state, null, 2) + '\n');
    };
    const next = this.saving.then(write, write);
    this.saving = next.catch(() => undefined);
    return next;
  }

  /** Writes a JSON document of the run (inventory.json, plan.json, ...) atomically, mode 0600. */
  async writeJson(name: string, value: unknown): Promise<void> {
    await writeFileAtomic(this.path(name), JSON.stringify(value, null, 2) + '\n');
  }

  async readJson<T>(name: string): Promise<T | undefined> {
    try {
      return JSON.parse(await readFile(this.path(name), 'utf8')) as T;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new OperatorError(`The run file ${this.path(name)} cannot be read: ${(error as Error).message}.`, 'Check the file; it was not changed.');
    }
  }

  step(id: string): StepRecord {
    const record = this.state.steps.find((step) => step.id === id);
    if (!record) throw new Error(`Step ${id} is not part of run ${this.runId}.`);
    return record;
  }

  async updateStep(id: string, change: Partial<StepRecord>): Promise<void> {
    Object.assign(this.step(id), change);
    await this.save();
  }

  /** Records a change before it is made; rollback undoes the journal newest first. */
  async journal(stepId: string, kind: string, data: Record<string, unknown>): Promise<JournalEntry> {
    const entry: JournalEntry = { seq: this.state.journal.length + 1, at: new Date().toISOString(), stepId, kind, data };
    this.state.journal.push(entry);
    await this.save();
    return entry;
  }

  isUnitDone(key: string): boolean {
    return key in this.state.units;
  }

  async markUnitDone(key: string, details: Record<string, unknown>): Promise<void> {
    this.state.units[key] = { doneAt: new Date().toISOString(), details };
    await this.save();
  }

  async forgetUnit(key: string): Promise<void> {
    delete this.state.units[key];
    await this.save();
  }

  async setStatus(status: RunState['status']): Promise<void> {
    this.state.status = status;
    await this.save();
  }

  async setNote(key: string, value: unknown): Promise<void> {
    this.state.notes[key] = value;
    await this.save();
  }
}

const RUN_ID = /^[\w.-]+$/;

/** The id in `<state-dir>/current`, or undefined when there is none. */
export async function currentRunId(stateDir: string): Promise<string | undefined> {
  let runId: string;
  try {
    runId = (await readFile(join(stateDir, 'current'), 'utf8')).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if (!RUN_ID.test(runId)) {
    throw new OperatorError(
      `${join(stateDir, 'current')} does not name a run (found "${runId.slice(0, 40)}").`,
      `Check the file; the runs are the directories under ${join(stateDir, 'runs')}.`,
    );
  }
  return runId;
}

/** The ids of every run in the state dir (directories under runs/), oldest first: ids start with their time. */
export async function listRunIds(stateDir: string): Promise<string[]> {
  try {
    return (await readdir(join(stateDir, 'runs'), { withFileTypes: true }))
      .filter((entry) => entry.isDirectory() && RUN_ID.test(entry.name))
      .map((entry) => entry.name)
      .sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** Reads and checks a state file; a damaged one is explained, never silently reset. */
export async function readState(path: string): Promise<RunState> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new OperatorError(
      `The run's state file ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`,
      'Check that the state directory is the one the run used (--state-dir).',
    );
  }
  let state: RunState;
  try {
    state = JSON.parse(text) as RunState;
  } catch (error) {
    throw new OperatorError(
      `The run's state file ${path} is damaged (${text.length} bytes, not valid JSON: ${(error as Error).message}).`,
      'It was left as it is. The host was not changed by this command. Restore the file from a backup, or inspect it and the run.log beside it to decide by hand.',
    );
  }
  if (typeof state !== 'object' || state === null || state.version !== STATE_VERSION || !Array.isArray(state.steps) || !Array.isArray(state.journal)) {
    throw new OperatorError(
      `The run's state file ${path} is not a version-${STATE_VERSION} state file of devmapper-migrate.`,
      'It was left as it is. Use the devmapper-migrate version that started the run, or inspect the file by hand.',
    );
  }
  return state;
}
