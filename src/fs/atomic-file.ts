import { open, rename, unlink } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';

/** Who owns a written file; absent: the writing process (root on a real host). */
export interface FileOwner {
  uid: number;
  gid: number;
}

/**
 * Writes a file so that a crash or power loss leaves either the old content or the new one,
 * never a mix: temporary file in the same directory, fsync, rename, fsync the directory.
 * `path` must be the file itself, never a symlink to it: rename replaces a link, not its target.
 */
export async function writeFileAtomic(path: string, content: string | Uint8Array, mode = 0o600, owner?: FileOwner): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
  const file = await open(temporary, 'w', mode);
  try {
    await file.writeFile(content);
    // chown before chmod: chown clears setuid/setgid bits, and the caller's mode is meant exactly.
    if (owner) await file.chown(owner.uid, owner.gid);
    await file.chmod(mode); // open() applied the umask
    await file.sync();
  } catch (error) {
    await file.close();
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
  await file.close();
  await rename(temporary, path);
  await syncDirectory(dirname(path));
}

/** Makes a rename or create in a directory durable. */
export async function syncDirectory(path: string): Promise<void> {
  const directory = await open(path, 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}
