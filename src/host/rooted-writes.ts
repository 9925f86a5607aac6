import { chmod, chown, lstat, mkdir, rename, rmdir, stat, unlink } from 'node:fs/promises';
import { OperatorError } from '../errors.js';
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

  /**
   * Writes a file atomically: a temporary file beside it, fsync, rename, fsync the directory.
   * A file that exists keeps its owner, group and mode (daemon.json may be 0600 on purpose);
   * `options` apply to a new one. A symlink (config management links daemon.json or a drop-in)
   * is written through: the file it names is replaced, in its own directory, and the link stays.
   * Returns the host path that was written.
   */
  async writeFile(hostPath: string, content: string, options: WriteFileOptions = {}): Promise<string> {
    const target = await this.writeTarget(hostPath);
    const real = this.map(target);
    const existing = await stat(real).catch(() => undefined);
    if (existing && !existing.isFile()) throw new OperatorError(`${hostPath} is not a regular file; it was not changed.`, `Look at ${hostPath}: the tool rewrites only regular files (or symlinks to them).`);
    const mode = existing ? existing.mode & 0o7777 : options.mode ?? 0o644;
    const owner = existing ? { uid: existing.uid, gid: existing.gid } : options.uid !== undefined && options.gid !== undefined ? { uid: options.uid, gid: options.gid } : undefined;
    await writeFileAtomic(real, content, mode, owner);
    return target;
  }

  /** The host path a write must replace: the path itself, or the file its symlink chain names. */
  private async writeTarget(hostPath: string): Promise<string> {
    const own = await lstat(this.map(hostPath)).catch(() => undefined);
    if (!own?.isSymbolicLink()) return hostPath;
    const target = await this.realpath(hostPath);
    if (target === undefined) {
      throw new OperatorError(
        `${hostPath} is a symlink to a file that does not exist (or a loop); it was not replaced.`,
        `Point the link at the real file (or remove the link and put the file there), then resume or roll back.`,
      );
    }
    return target;
  }
}
