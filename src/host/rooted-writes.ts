import { chmod, chown, mkdir, rename, rmdir, stat, unlink } from 'node:fs/promises';
import { writeFileAtomic } from '../fs/atomic-file.js';
import type { MkdirOptions, WriteFileOptions } from './host.js';
import { RootedFiles } from './rooted-files.js';

/**
 * RootedFiles plus the changing half of file access (rename, mkdir, rmdir, atomic write),
 * with host paths mapped under the same root. Errors are Node's, with their `code`
 * (EXDEV, EBUSY, EPERM, ...), so callers can explain them.
 */
export class RootedWrites extends RootedFiles {

  /** rename(2): atomic on one filesystem; EXDEV across filesystems, never a copy. */
  async rename(from: string, to: string): Promise<void> {
    await rename(this.map(from), this.map(to));
  }

  /** Creates a directory (and missing parents) and sets its mode and owner exactly (no umask). */
  async mkdir(hostPath: string, options: MkdirOptions = {}): Promise<void> {
    const real = this.map(hostPath);
    await mkdir(real, { recursive: true });
    if (options.mode !== undefined) await chmod(real, options.mode);
    if (options.uid !== undefined && options.gid !== undefined) await chown(real, options.uid, options.gid);
  }

  /** Removes an empty directory (ENOTEMPTY otherwise: nothing is ever removed recursively). */
  async rmdir(hostPath: string): Promise<void> {
    await rmdir(this.map(hostPath));
  }

  /** Removes a file (a file we wrote, on undo); a missing one is not an error. */
  async unlink(hostPath: string): Promise<void> {
    try {
      await unlink(this.map(hostPath));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }

  /** Writes a file atomically: a temporary file beside it, fsync, rename, fsync the directory. */
  async writeFile(hostPath: string, content: string, options: WriteFileOptions = {}): Promise<void> {
    const real = this.map(hostPath);
    // Without a mode, a replaced file keeps its own (daemon.json may be 0600 on purpose).
    const mode = options.mode ?? ((await stat(real).catch(() => undefined))?.mode ?? 0o644) & 0o7777;
    await writeFileAtomic(real, content, mode);
  }
}
