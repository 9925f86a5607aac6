import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { CommandResult, FileStat, FsSpace, Host, MkdirOptions, RunOptions, WriteFileOptions } from './host.js';
import { FS_MAGIC } from './fs-magic.js';
import { RootedWrites } from './rooted-writes.js';

/** A canned command result; without `args` it answers any arguments. */
export interface CannedCommand {
  command: string;
  args?: string[];
  exitCode?: number;
  stdout?: string;
  stderr?: string;
}

/** A canned filesystem for statfs: every path under `mountPoint` (the longest match wins). */
export interface CannedFilesystem {
  mountPoint: string;
  /** A name from FS_MAGIC ("xfs", "ext4", ...) or a magic number. */
  type: string | number;
  totalBytes: number;
  availableBytes: number;
  freeBytes?: number;
  blockSize?: number;
}

/** What host.json in a fixture directory may hold, next to its `root/` tree. */
export interface FixtureSpec {
  /** Commands that exist (on PATH) besides the canned ones: names or absolute paths. */
  executables?: string[];
  commands?: CannedCommand[];
  filesystems?: CannedFilesystem[];
  /** Paths that are block devices (a fixture tree cannot hold device nodes). */
  blockDevices?: string[];
  /** Block devices the kernel has in use: claimExclusive fails with EBUSY. */
  busyDevices?: string[];
}

/**
 * A Host over a fixture tree and a table of canned command results, for unit tests: files come
 * from `root`, commands never run (one without a canned result exits 127), statfs answers from
 * the table.
 */
export class FixtureHost implements Host {
  readonly root: string;
  /** Every command asked for, in order: for debugging a fixture, not for assertions. */
  readonly calls: { command: string; args: readonly string[] }[] = [];
  private readonly files: RootedWrites;

  constructor(
    root: string,
    private readonly spec: FixtureSpec = {},
  ) {
    this.files = new RootedWrites(root);
    this.root = this.files.root;
  }

  /** Loads `<dir>/host.json` (optional) with the tree at `<dir>/root`. */
  static async load(dir: string, extra: FixtureSpec = {}): Promise<FixtureHost> {
    let spec: FixtureSpec = {};
    try {
      spec = JSON.parse(await readFile(path.join(dir, 'host.json'), 'utf8')) as FixtureSpec;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    return new FixtureHost(path.join(dir, 'root'), {
      executables: [...(extra.executables ?? []), ...(spec.executables ?? [])],
      commands: [...(extra.commands ?? []), ...(spec.commands ?? [])],
      filesystems: [...(extra.filesystems ?? []), ...(spec.filesystems ?? [])],
      blockDevices: [...(extra.blockDevices ?? []), ...(spec.blockDevices ?? [])],
      busyDevices: [...(extra.busyDevices ?? []), ...(spec.busyDevices ?? [])],
    });
  }

  readFile(hostPath: string): Promise<string | undefined> {
    return this.files.readFile(hostPath);
  }

  listDir(hostPath: string): Promise<string[] | undefined> {
    return this.files.listDir(hostPath);
  }

  async stat(hostPath: string): Promise<FileStat | undefined> {
    if (this.spec.blockDevices?.includes(hostPath)) {
      return { kind: 'other', size: 0, mode: S_IFBLK | 0o660, uid: 0, gid: 6, dev: 5, ino: 0, mtimeMs: 0 };
    }
    return this.files.stat(hostPath);
  }

  async realpath(hostPath: string): Promise<string | undefined> {
    if (this.spec.blockDevices?.includes(hostPath)) return hostPath;
    return this.files.realpath(hostPath);
  }

  async statfs(hostPath: string): Promise<FsSpace | undefined> {
    const real = await this.realpath(hostPath);
    if (real === undefined) return undefined;
    const match = (this.spec.filesystems ?? [])
      .filter((fs) => isUnder(real, fs.mountPoint))
      .sort((a, b) => b.mountPoint.length - a.mountPoint.length)[0];
    if (!match) return undefined;
    const type = typeof match.type === 'number' ? match.type : (FS_MAGIC[match.type] ?? 0);
    return {
      type,
      blockSize: match.blockSize ?? 4096,
      totalBytes: match.totalBytes,
      availableBytes: match.availableBytes,
      freeBytes: match.freeBytes ?? match.availableBytes,
    };
  }

  async which(command: string): Promise<string | undefined> {
    const name = path.basename(command);
    const known = [...(this.spec.executables ?? []), ...(this.spec.commands ?? []).map((c) => c.command)];
    const hit = known.find((k) => k === command || path.basename(k) === name);
    if (!hit) return undefined;
    return hit.includes('/') ? hit : `/usr/sbin/${hit}`;
  }

  async run(command: string, args: readonly string[], _options: RunOptions = {}): Promise<CommandResult> {
    this.calls.push({ command, args });
    const name = path.basename(command);
    const candidates = (this.spec.commands ?? []).filter((c) => c.command === command || path.basename(c.command) === name);
    const canned =
      candidates.find((c) => c.args !== undefined && sameArgs(c.args, args)) ?? candidates.find((c) => c.args === undefined);
    if (!canned) {
      const exists = (await this.which(command)) !== undefined;
      return {
        command,
        args,
        exitCode: exists ? 1 : 127,
        stdout: '',
        stderr: exists ? `fixture: no canned result for ${[command, ...args].join(' ')}` : `${command}: command not found`,
      };
    }
    return { command, args, exitCode: canned.exitCode ?? 0, stdout: canned.stdout ?? '', stderr: canned.stderr ?? '' };
  }

  // Changes to files, mapped under root like reads (the cutover's moves and rewrites).
  rename(from: string, to: string): Promise<void> {
    return this.files.rename(from, to);
  }

  mkdir(hostPath: string, options?: MkdirOptions): Promise<void> {
    return this.files.mkdir(hostPath, options);
  }

  rmdir(hostPath: string): Promise<void> {
    return this.files.rmdir(hostPath);
  }

  writeFile(hostPath: string, content: string, options?: WriteFileOptions): Promise<string> {
    return this.files.writeFile(hostPath, content, options);
  }

  unlink(hostPath: string): Promise<void> {
    return this.files.unlink(hostPath);
  }

  async claimExclusive(hostPath: string): Promise<void> {
    const code = this.spec.busyDevices?.includes(hostPath) ? 'EBUSY' : this.spec.blockDevices?.includes(hostPath) ? undefined : 'ENOENT';
    if (code) throw Object.assign(new Error(`${code}: fixture: cannot open ${hostPath} exclusively`), { code });
  }
}

const S_IFBLK = 0o060000;

function sameArgs(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

function isUnder(candidate: string, dir: string): boolean {
  return dir === '/' || candidate === dir || candidate.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
}
