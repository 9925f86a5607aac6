import { access, constants, open } from 'node:fs/promises';
import path from 'node:path';
import { execa, type ExecaError, type ExecaReturnValue } from 'execa';
import type { CommandResult, FileStat, FsSpace, Host, MkdirOptions, RunOptions, WriteFileOptions } from './host.js';
import { RootedWrites } from './rooted-writes.js';

/** Exit codes a shell would give: the command was not found, or it ran out of time. */
const NOT_FOUND = 127;
const TIMED_OUT = 124;
/** How long a timed-out command's group has between SIGTERM and SIGKILL. */
const KILL_GRACE_MS = 2_000;

/**
 * Administration tools live in sbin, which is often missing from PATH under sudo, cron or
 * Ansible; look there too so that `lvs` or `xfs_info` are found where an operator would find them.
 */
const EXTRA_PATH = ['/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/local/bin', '/usr/bin', '/bin'];

/** A word as a shell reads it back: quoted only when it has to be. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** f_type (hex), f_bsize, f_frsize (the unit of the counts), f_blocks, f_bavail, f_bfree. */
const STATFS_FORMAT = '%t %s %S %b %a %f';

/** `stat -f -c STATFS_FORMAT`'s line as an FsSpace. */
export function parseStatfs(line: string): FsSpace {
  const fields = line.trim().split(/\s+/);
  const [type, bsize, frsize, blocks, bavail, bfree] = fields;
  const numbers = [bsize, frsize, blocks, bavail, bfree].map(Number);
  if (fields.length !== 6 || !/^[0-9a-f]+$/i.test(type ?? '') || numbers.some((n) => !Number.isSafeInteger(n))) {
    throw new Error(`unexpected output of stat -f: "${line.trim()}"`);
  }
  const [blockSize, unit, total, available, free] = numbers as [number, number, number, number, number];
  return { type: parseInt(type!, 16), blockSize, totalBytes: total * unit, availableBytes: available * unit, freeBytes: free * unit };
}

/**
 * The real machine: files through Node's fs mapped under `root` ("/" in production, a fixture
 * tree in tests), commands run for real through execa (their arguments are not mapped).
 */
export class NodeHost implements Host {
  readonly root: string;
  private readonly files: RootedWrites;
  private readonly whichCache = new Map<string, string | undefined>();
  /** Environment variables that hold secrets of this process (registry.passwordEnv's): never handed to a command. */
  private readonly withheld = new Set<string>();
  /** Told each command line before it runs (the run's run.log records them). */
  private commandListener: ((line: string) => void) | undefined;

  constructor(root = '/') {
    this.files = new RootedWrites(root);
    this.root = this.files.root;
  }

  /**
   * Keeps these variables out of every command's environment from now on. A password read
   * from the environment would otherwise sit in /proc/<pid>/environ of every command the tool
   * runs, and of a dockerd started by an operator's start command for as long as it runs.
   */
  withholdEnv(names: Iterable<string | undefined>): void {
    for (const name of names) if (name) this.withheld.add(name);
  }

  /** Tells `listener` every command this host runs from now on, as one shell-readable line (never its input). */
  onCommand(listener: (line: string) => void): void {
    this.commandListener = listener;
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

  /**
   * statfs(2) through coreutils' `stat -f`: fs.statfs came in Node 18.15, and the tool runs
   * on Node 16.20 (RHEL 7's runtime).
   */
  async statfs(hostPath: string): Promise<FsSpace | undefined> {
    const result = await this.run('stat', ['-f', '-c', STATFS_FORMAT, '--', this.files.map(hostPath)], { env: { LC_ALL: 'C' } });
    if (result.exitCode === 0) return parseStatfs(result.stdout);
    if (/No such file or directory|Not a directory/.test(result.stderr)) return undefined;
    throw new Error(`stat -f ${hostPath} failed (exit ${result.exitCode}): ${result.stderr.trim()}`);
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
    this.commandListener?.(options.shownAs ?? [command, ...args].map(shellWord).join(' '));
    const file = await this.which(command);
    if (!file) {
      return { command, args, exitCode: NOT_FOUND, stdout: '', stderr: `${command}: command not found` };
    }
    // Each command runs in a process group of its own (detached), for two reasons: a timeout
    // must end the whole group (an operator's `sh -c` start command and whatever it started, not
    // just the sh), and an operator's Ctrl+C, meant for the tool (which stops at a safe point),
    // must not reach an lvcreate halfway or a dockerd that a start command left running.
    const subprocess = execa(file, [...args], {
      reject: false,
      input: options.input,
      env: this.childEnvironment(options.env),
      extendEnv: false,
      detached: true,
      stdin: options.input === undefined ? 'ignore' : 'pipe',
    });
    const timeout = options.timeoutMs === undefined ? undefined : killGroupAfter(subprocess.pid, options.timeoutMs);
    // execa 8 types a result without reject as a success; a failed spawn also carries the error's fields.
    const result: ExecaReturnValue & Partial<Pick<ExecaError, 'shortMessage'>> & { code?: string } = await subprocess;
    timeout?.clear();
    let exitCode: number | undefined = result.exitCode;
    if (timeout?.fired()) exitCode = TIMED_OUT;
    else if (exitCode === undefined) exitCode = result.code === 'ENOENT' ? NOT_FOUND : 1;
    const stderr =
      String(result.stderr ?? '') ||
      (timeout?.fired() ? `timed out after ${options.timeoutMs! / 1000} s` : result.failed && result.exitCode === undefined ? (result.shortMessage ?? '') : '');
    return { command, args, exitCode, stdout: String(result.stdout ?? ''), stderr };
  }

  /** This process's environment and the command's own variables, without the withheld ones. */
  private childEnvironment(extra: Record<string, string> | undefined): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries({ ...process.env, ...extra })) {
      if (value !== undefined && !this.withheld.has(name)) env[name] = value;
    }
    return env;
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
    // O_EXCL on a block device (without O_CREAT) is Linux's exclusive claim: EBUSY while anything holds it.
    const handle = await open(this.files.map(hostPath), constants.O_RDONLY | constants.O_EXCL);
    await handle.close();
  }
}

/** After `ms`, SIGTERM to the command's process group, and SIGKILL to what is left of it a little later. */
function killGroupAfter(pid: number | undefined, ms: number): { clear(): void; fired(): boolean } {
  let fired = false;
  const signalGroup = (signal: NodeJS.Signals) => {
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // ESRCH: the group is gone already.
    }
  };
  const timer = setTimeout(() => {
    fired = true;
    signalGroup('SIGTERM');
    setTimeout(() => signalGroup('SIGKILL'), KILL_GRACE_MS).unref();
  }, ms);
  return { clear: () => clearTimeout(timer), fired: () => fired };
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
