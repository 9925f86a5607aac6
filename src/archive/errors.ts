import { OperatorError } from '../errors.js';

/**
 * An archive could not be packed or restored: names the entry (its path inside the archive,
 * or a description such as "extended header after \"a/b\"") and why.
 */
export class ArchiveError extends OperatorError {
  constructor(
    readonly entry: string,
    readonly reason: string,
    remedy: string,
    options?: { cause?: unknown },
  ) {
    super(`Archive entry ${JSON.stringify(entry)}: ${reason}`, remedy);
    this.name = 'ArchiveError';
    if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
  }
}

/**
 * Extraction refused an entry that would escape the target directory or is otherwise unsafe
 * (absolute path, `..`, a path through a symlink, a link pointing outside, a device node,
 * an oversized header, a NUL in a name). Nothing has been written outside the target.
 */
export class UnsafeArchiveError extends ArchiveError {
  constructor(entry: string, reason: string) {
    super(
      entry,
      `refused: ${reason}`,
      'The archive is damaged or was tampered with; restore from another copy. Nothing was written outside the target directory.',
    );
    this.name = 'UnsafeArchiveError';
  }
}
