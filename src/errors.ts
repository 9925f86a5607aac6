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
