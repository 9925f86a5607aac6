import { open, rename, rm } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';

/** Who owns a written file; absent: the writing process (root on a real host). */
export interface FileOwner {
  uid: number;
  gid: number;
}

/** What a file is called while it is written: a name that nothing takes for the finished file. */
export const PARTIAL_SUFFIX = '.partial';

export interface DurableWriteOptions {
  /** Where the content goes until it is complete; default `<path>.partial`. Same directory as `path`. */
  partial?: string;
}

/**
 * Writes a file so that a crash or power loss at any moment leaves either the old file or the
 * complete new one under `path`, never a part of it: `write` fills the partial file beside it
 * (by any means: a file handle, a stream, a tar process), which is then fsynced, renamed over
 * `path`, and the directory fsynced so the rename itself survives. When `write` or any of that
 * fails, the partial file is removed; a partial file a killed process left is replaced.
 * `path` must be the file itself, never a symlink to it: rename replaces a link, not its target.
 */
export async function writeFileDurably<T>(path: string, write: (partial: string) => Promise<T>, options: DurableWriteOptions = {}): Promise<T> {
  const partial = options.partial ?? `${path}${PARTIAL_SUFFIX}`;
  await rm(partial, { force: true });
  try {
    const result = await write(partial);
    await syncPath(partial); // any descriptor's fsync covers the whole file
    await rename(partial, path);
    await syncPath(dirname(path));
    return result;
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
}

/**
 * writeFileDurably for content in memory (state, answers, reports, system files), with the
 * exact mode and owner. Its temporary name is hidden and per process, as fits /etc as well.
 */
export async function writeFileAtomic(path: string, content: string | Uint8Array, mode = 0o600, owner?: FileOwner): Promise<void> {
  const partial = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
  await writeFileDurably(
    path,
    async () => {
      const file = await open(partial, 'w', mode);
      try {
        await file.writeFile(content);
        // chown before chmod: chown clears setuid/setgid bits, and the caller's mode is meant exactly.
        if (owner) await file.chown(owner.uid, owner.gid);
        await file.chmod(mode); // open() applied the umask
      } finally {
        await file.close();
      }
    },
    { partial },
  );
}

/** Waits until a file's content, or a directory's renames and creations, are on disk. */
export async function syncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
