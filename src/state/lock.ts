import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { OperatorError } from '../errors.js';
import { lockDescriptor } from '../host/flock.js';

/** Who holds the state dir's lock; written into `<state-dir>/lock`. */
export interface LockOwner {
  pid: number;
  startedAt: string;
  command: string;
}

export interface HeldLock {
  /** Set when the previous holder never released the lock (killed, crashed, rebooted). */
  takenOverFrom?: LockOwner;
  release(): Promise<void>;
}

async function readOwner(file: FileHandle): Promise<LockOwner | undefined> {
  try {
    const owner = JSON.parse(await file.readFile({ encoding: 'utf8' })) as LockOwner;
    return Number.isInteger(owner.pid) ? owner : undefined;
  } catch {
    return undefined;
  }
}

/**
 * One run at a time: an exclusive flock on `<state-dir>/lock`, or an OperatorError naming the
 * process that holds it. The lock file is never removed (two processes could otherwise lock two
 * different files of one name): whoever holds the flock holds the lock, and the kernel frees it
 * when its holder dies, so a stale lock cannot exist and needs no takeover. The file's text only
 * names the holder for the message; a clean release empties it.
 */
export async function acquireLock(stateDir: string, command: string): Promise<HeldLock> {
  const path = join(stateDir, 'lock');
  const file = await open(path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  try {
    if ((await lockDescriptor(file.fd)) === 'busy') {
      const owner = await readOwner(file);
      throw new OperatorError(
        owner
          ? `Another devmapper-migrate is working on this host: "${owner.command}" (pid ${owner.pid}, started ${owner.startedAt}).`
          : `Another process holds the lock ${path} (it is just starting, or is not devmapper-migrate).`,
        'Wait for it to finish, or watch it with "devmapper-migrate status".',
      );
    }
    // Ours now. A holder named in the file did not release it: it is gone, since the kernel freed its lock.
    const previous = await readOwner(file);
    const me: LockOwner = { pid: process.pid, startedAt: new Date().toISOString(), command };
    await file.truncate(0);
    await file.write(JSON.stringify(me) + '\n', 0);
    await file.sync();
    let released = false;
    return {
      takenOverFrom: previous,
      release: async () => {
        if (released) return;
        released = true;
        await file.truncate(0).catch(() => undefined);
        await file.close();
      },
    };
  } catch (error) {
    await file.close();
    throw error;
  }
}
