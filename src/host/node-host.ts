import { access, constants } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import type { CommandResult, FileStat, FsSpace, Host, MkdirOptions, RunOptions, WriteFileOptions } from './host.js';
import { RootedWrites } from './rooted-writes.js';

/** Exit codes a shell would give: the command was not found, or it ran out of time. */
const NOT_FOUND = 127;
const TIMED_OUT = 124;

/**
 * Administration tools live in sbin, which is often missing from PATH under sudo, cron or
 * Ansible; look there too so that `lvs` or `xfs_info` are found where an operator would find them.
 */
const EXTRA_PATH = ['/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/local/bin', '/usr/bin', '/bin'];

/**
 * The real machine: files through Node's fs mapped under `root` ("/" in production, a fixture
 * tree in tests), commands run for real through execa (their arguments are not mapped).
 */
export class NodeHost implements Host {
  readonly root: string;
  private readonly files: RootedWrites;
  private readonly whichCache = new Map<string, string | undefined>();

  constructor(root = '/') {
    this.files = new RootedWrites(root);
    this.root = this.files.root;
  }

  readFile(hostPath: string): Promise<string | undefined> {
    return this.files.readFile(hostPath);
  }

  listDir(hostPath: string): Promise<string[] | undefined> {
    return this.files.listDir(hostPath);
  }

  stat(hostPath: string): Promise<FileStat | undefined> {
    return this.files.stat(hostPath);
  }

  statfs(hostPath: string): Promise<FsSpace | undefined> {
    return this.files.statfs(hostPath);
  }

  realpath(hostPath: string): Promise<string | undefined> {
    return this.files.realpath(hostPath);
  }

  async which(command: string): Promise<string | undefined> {
    if (command.includes('/')) return (await isExecutable(command)) ? command : undefined;
    if (this.whichCache.has(command)) return this.whichCache.get(command);
    const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), ...EXTRA_PATH];
    let found: string | undefined;
    for (const dir of new Set(dirs)) {
      const candidate = path.join(dir, command);
      if (await isExecutable(candidate)) {
        found = candidate;
        break;
      }
    }
    this.whichCache.set(command, found);
    return found;
  }

  async run(command: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    const file = await this.which(command);
    if (!file) {
      return { command, args, exitCode: NOT_FOUND, stdout: '', stderr: `${command}: command not found` };
    }
    const result = await execa(file, [...args], {
      reject: false,
      timeout: options.timeoutMs,
      input: options.input,
      env: options.env,
      stdin: options.input === undefined ? 'ignore' : 'pipe',
    });
    let exitCode = result.exitCode;
    if (exitCode === undefined) exitCode = result.timedOut ? TIMED_OUT : result.code === 'ENOENT' ? NOT_FOUND : 1;
    const stderr = String(result.stderr ?? '') || (result.failed && result.exitCode === undefined ? (result.shortMessage ?? '') : '');
    return { command, args, exitCode, stdout: String(result.stdout ?? ''), stderr };
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

  writeFile(hostPath: string, content: string, options?: WriteFileOptions): Promise<void> {
    return this.files.writeFile(hostPath, content, options);
  }

  unlink(hostPath: string): Promise<void> {
    return this.files.unlink(hostPath);
  }
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
