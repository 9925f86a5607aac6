/**
 * The only door to the machine: processes and system files. One real implementation
 * (NodeHost), a fixture-backed one for unit tests, and (later) a recording one for --dry-run.
 * System paths are always given as absolute host paths ("/etc/docker/daemon.json"); an
 * implementation maps them under its `root`, so checks run unchanged against fixture trees.
 */
export interface CommandResult {
  command: string;
  args: readonly string[];
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Kill the command after this long; the result then has a non-zero exit code. */
  timeoutMs?: number;
  /** Text fed to the command's standard input. */
  input?: string;
  env?: Record<string, string>;
}

export interface FileStat {
  kind: 'file' | 'directory' | 'symlink' | 'other';
  size: number;
  mode: number;
  uid: number;
  gid: number;
  dev: number;
  ino: number;
  mtimeMs: number;
}

export interface Host {
  /** Where "/" is: "/" on a real host, a fixture tree in tests. */
  readonly root: string;
  /** The file's text, or undefined when it does not exist. */
  readFile(path: string): Promise<string | undefined>;
  /** Entry names of a directory, or undefined when it does not exist. */
  listDir(path: string): Promise<string[] | undefined>;
  /** lstat of a path, or undefined when it does not exist. */
  stat(path: string): Promise<FileStat | undefined>;
  /** Runs a command to completion; never throws for a non-zero exit (see `exitCode`). */
  run(command: string, args: readonly string[], options?: RunOptions): Promise<CommandResult>;
  /** Absolute path of a command on PATH, or undefined. */
  which(command: string): Promise<string | undefined>;
}
