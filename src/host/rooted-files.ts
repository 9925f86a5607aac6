import { lstat, readFile, readdir, readlink, realpath } from 'node:fs/promises';
import path from 'node:path';
import type { FileStat } from './host.js';

const MAX_SYMLINKS = 40;

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException)?.code;
  // ESRCH: a /proc/<pid> entry whose process exited between listing and reading.
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ESRCH';
}

/**
 * File access with host paths mapped under a root directory, as if chrooted there: "/etc/x"
 * is `<root>/etc/x`, and absolute symlink targets found while resolving a path stay under the
 * root. With root "/" it is plain file access.
 */
export class RootedFiles {
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  /** The real path of a host path (no symlink resolution). */
  map(hostPath: string): string {
    if (!path.isAbsolute(hostPath)) throw new Error(`host paths must be absolute, got "${hostPath}"`);
    return this.root === '/' ? path.normalize(hostPath) : path.join(this.root, hostPath);
  }

  async readFile(hostPath: string): Promise<string | undefined> {
    try {
      return await readFile(this.map(hostPath), 'utf8');
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async listDir(hostPath: string): Promise<string[] | undefined> {
    try {
      return (await readdir(this.map(hostPath))).sort();
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async stat(hostPath: string): Promise<FileStat | undefined> {
    try {
      const s = await lstat(this.map(hostPath));
      const kind = s.isFile() ? 'file' : s.isDirectory() ? 'directory' : s.isSymbolicLink() ? 'symlink' : 'other';
      return { kind, size: s.size, mode: s.mode, uid: s.uid, gid: s.gid, dev: s.dev, ino: s.ino, mtimeMs: s.mtimeMs };
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  /** Resolves symlinks component by component, keeping absolute targets under the root. */
  async realpath(hostPath: string): Promise<string | undefined> {
    if (this.root === '/') {
      try {
        return await realpath(this.map(hostPath));
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw error;
      }
    }
    let pending = hostPath.split('/').filter(Boolean);
    let resolved: string[] = [];
    let links = 0;
    while (pending.length > 0) {
      const part = pending.shift()!;
      if (part === '.') continue;
      if (part === '..') {
        resolved.pop();
        continue;
      }
      const candidate = [...resolved, part];
      const real = path.join(this.root, ...candidate);
      let isLink: boolean;
      try {
        isLink = (await lstat(real)).isSymbolicLink();
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw error;
      }
      if (!isLink) {
        resolved = candidate;
        continue;
      }
      if (++links > MAX_SYMLINKS) return undefined;
      const target = await readlink(real);
      if (target.startsWith('/')) resolved = [];
      pending = [...target.split('/').filter(Boolean), ...pending];
    }
    return '/' + resolved.join('/');
  }
}
