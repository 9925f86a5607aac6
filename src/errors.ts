/** Exit codes fixed by the contract (docs/contract.md). */
export const ExitCode = {
  ok: 0,
  /** Blockers found (preflight) or differences found (verify). */
  findings: 1,
  /** Bad usage or an invalid answers file. */
  usage: 2,
  /** The run failed and the host was rolled back automatically. */
  rolledBack: 3,
  /** The run stopped and needs the operator; the state is kept. */
  needsOperator: 4,
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * A problem the operator can act on: printed as message and remedy, without a stack.
 * Anything else that escapes is a bug and keeps its stack.
 */
export class OperatorError extends Error {
  constructor(
    message: string,
    readonly remedy: string,
    readonly exitCode: ExitCode = ExitCode.needsOperator,
  ) {
    super(message);
    this.name = 'OperatorError';
  }
}

/** Bad usage or bad input: exit 2. */
export class UsageError extends OperatorError {
  constructor(message: string, remedy: string) {
    super(message, remedy, ExitCode.usage);
    this.name = 'UsageError';
  }
}

/** Ctrl+C: the run stopped at a safe point and can be resumed; exit 130. */
export class InterruptedError extends OperatorError {
  constructor(where: string) {
    super(`Interrupted during ${where}; stopped at a safe point.`, 'Run `devmapper-migrate resume` to continue, or `devmapper-migrate rollback` to undo.', ExitCode.interrupted);
    this.name = 'InterruptedError';
  }
}

/** What a file-system error code means, and what the operator can do about it. */
const FILE_SYSTEM_PROBLEMS: Record<string, { why: string; remedy: (asRoot: boolean) => string }> = {
  EACCES: {
    why: 'permission denied',
    remedy: (asRoot) =>
      asRoot
        ? 'Check the permissions of that path and of the directories above it (and any SELinux or AppArmor denial in the audit log).'
        : 'Run devmapper-migrate as root: it manages Docker and system files.',
  },
  EPERM: {
    why: 'operation not permitted',
    remedy: (asRoot) =>
      asRoot ? 'Check for an immutable attribute (lsattr) or a security module denying it.' : 'Run devmapper-migrate as root: it manages Docker and system files.',
  },
  EROFS: { why: 'the file system is read-only', remedy: () => 'Use a directory on a writable file system (--state-dir, backup.directory), or remount it read-write.' },
  ENOSPC: { why: 'no space left on the device', remedy: () => 'Free space on that file system, or use a directory on another one, then try again.' },
  EDQUOT: { why: 'the disk quota is exceeded', remedy: () => 'Raise the quota, or use a directory on another file system, then try again.' },
  ENOTDIR: { why: 'a part of the path is not a directory', remedy: () => 'Check the path; every part of it but the last must be a directory.' },
  ENOENT: { why: 'it does not exist', remedy: () => 'Check the path (nothing can be created under /proc or /sys: use a directory on a real file system).' },
  ELOOP: { why: 'too many levels of symbolic links', remedy: () => 'Check the path for a symbolic link that points to itself.' },
  EISDIR: { why: 'it is a directory', remedy: () => 'Check the path: a file is expected there.' },
  EEXIST: { why: 'it already exists', remedy: () => 'Move it aside, or use another path.' },
  EMFILE: { why: 'too many open files', remedy: () => 'Raise the open-file limit (ulimit -n), then try again.' },
  EIO: { why: 'an input/output error', remedy: () => 'The disk may be failing: check the kernel log (dmesg) before anything else.' },
};

/**
 * A file-system error (EACCES on the state dir, EROFS, ENOSPC, …) as an OperatorError that
 * names the path and the fix, or undefined for anything else. Such errors come from the
 * operator's machine, not from a bug, so they are printed without a stack (exit 4).
 */
export function fileSystemProblem(error: unknown, asRoot: boolean = process.getuid?.() === 0): OperatorError | undefined {
  const e = error as Partial<NodeJS.ErrnoException> | undefined;
  const problem = e?.code ? FILE_SYSTEM_PROBLEMS[e.code] : undefined;
  if (!problem || typeof e?.path !== 'string') return undefined;
  const what = e.syscall ? `${e.syscall} ${e.path}` : e.path;
  return new OperatorError(`Cannot ${what}: ${problem.why} (${e.code}).`, problem.remedy(asRoot));
}
