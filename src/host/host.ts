/**
 * The only door to the machine: processes and system files. One real implementation
 * (NodeHost) and a fixture-backed one for unit tests (FixtureHost).
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
  /** How the command is named in the log when its argv is not how the operator knows it (a wrapper around the operator's own command). */
  shownAs?: string;
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

/** Space on the filesystem holding a path (statfs), in bytes. */
export interface FsSpace {
  /** The filesystem's magic number (f_type), e.g. 0x58465342 for xfs. */
  type: number;
  blockSize: number;
  totalBytes: number;
  /** Free for unprivileged users (f_bavail): what a non-root writer could still use. */
  availableBytes: number;
  /** Free including the reserved blocks (f_bfree). */
  freeBytes: number;
}

/** How host.mkdir sets up a directory (no umask: the mode is set as given). */
export interface MkdirOptions {
  mode?: number;
  uid?: number;
  gid?: number;
}

/** How host.writeFile creates a file that does not exist yet; an existing file keeps its own. */
export interface WriteFileOptions {
  /** Permission bits of a new file (default 0644). */
  mode?: number;
  /** Owner and group of a new file (both or neither; default: the writing process). */
  uid?: number;
  gid?: number;
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
  /** statfs of the filesystem holding a path, or undefined when the path does not exist. */
  statfs(path: string): Promise<FsSpace | undefined>;
  /** The path with every symlink resolved (as a host path), or undefined when it does not exist. */
  realpath(path: string): Promise<string | undefined>;
  /** rename(2) of a path; throws Node's error (EXDEV across filesystems, EBUSY on a mount point). */
  rename(from: string, to: string): Promise<void>;
  /** Creates a directory and its missing parents; mode and owner set exactly when given. */
  mkdir(path: string, options?: MkdirOptions): Promise<void>;
  /** Removes an empty directory (throws ENOTEMPTY otherwise). */
  rmdir(path: string): Promise<void>;
  /**
   * Writes a file atomically (temporary file, fsync, rename), keeping an existing file's owner,
   * group and mode; through a symlink, the file it names (the link stays). Returns the host
   * path written.
   */
  writeFile(path: string, content: string, options?: WriteFileOptions): Promise<string>;
  /** Removes a file (not a directory); a missing file is not an error. */
  unlink(path: string): Promise<void>;
  /**
   * Opens a block device with O_EXCL and closes it again: throws Node's error, EBUSY when the
   * kernel has it in use (mounted, swap, held by device-mapper or md, or claimed by a program).
   */
  claimExclusive(path: string): Promise<void>;
}
