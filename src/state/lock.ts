import { readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OperatorError } from '../errors.js';

/** Who holds the state dir's lock; written into `<state-dir>/lock`. */
export interface LockOwner {
  pid: number;
  startedAt: string;
  command: string;
}

export interface HeldLock {
  /** Set when a stale lock (its process is gone) was taken over. */
  takenOverFrom?: LockOwner;
  release(): Promise<void>;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readOwner(path: string): Promise<LockOwner | undefined> {
  try {
    const owner = JSON.parse(await readFile(path, 'utf8')) as LockOwner;
    return Number.isInteger(owner.pid) ? owner : undefined;
  } catch {
    return undefined;
  }
}

/** One run at a time: takes `<state-dir>/lock` or names the process that holds it. */
export async function acquireLock(stateDir: string, command: string): Promise<HeldLock> {
  const path = join(stateDir, 'lock');
  const me: LockOwner = { pid: process.pid, startedAt: new Date().toISOString(), command };
  let takenOverFrom: LockOwner | undefined;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      await writeFile(path, JSON.stringify(me) + '\n', { flag: 'wx', mode: 0o600 });
      return {
        takenOverFrom,
        release: async () => {
          const owner = await readOwner(path);
          if (owner?.pid === process.pid) await unlink(path).catch(() => undefined);
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = await readOwner(path);
    if (owner && isAlive(owner.pid) && owner.pid !== process.pid) {
      throw new OperatorError(
        `Another devmapper-migrate is working on this host: "${owner.command}" (pid ${owner.pid}, started ${owner.startedAt}).`,
        `Wait for it to finish, or watch it with "devmapper-migrate status". If that process is not devmapper-migrate, remove ${path}.`,
      );
    }
    // The holder is gone (crash, kill -9, reboot): the lock is stale; take it over.
    takenOverFrom = owner ?? { pid: 0, startedAt: 'unknown', command: 'unknown (unreadable lock file)' };
    await unlink(path).catch(() => undefined);
  }
  throw new OperatorError(`Could not take the lock ${path}.`, 'Another process keeps creating it; check for concurrent runs.');
}
