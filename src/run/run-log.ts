/**
 * The run's `run.log`: every line the task list shows, and what the commands tell the operator,
 * with an ISO timestamp. It is our own file in the state dir (0700), so it is written here
 * rather than through Host, like the state file.
 *
 * Lines are appended synchronously (appendFileSync): the log is small, the order is the order of
 * the calls, and nothing is lost when the process exits right after a line (process.exit, a
 * fatal error). Callers pass text that is already free of secrets; nothing is added but the time.
 */
import { appendFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { escapeControls } from '../report/escape.js';

export class RunLog {
  private failure: Error | undefined;

  private constructor(readonly path: string) {}

  /** Opens `path` for appending, creating it with mode 0600 if it is missing. */
  static async open(path: string): Promise<RunLog> {
    const handle = await open(path, 'a', 0o600);
    try {
      // A file left with a wider mode (created by hand, copied) is narrowed: it names images, paths and hosts.
      await handle.chmod(0o600);
    } finally {
      await handle.close();
    }
    return new RunLog(path);
  }

  /**
   * Appends `<ISO time> <text>`, one timestamped line per line of `text`. Never throws: a full
   * disk must not turn a migration step into a failure; the first error is kept and `close`
   * reports it.
   */
  line(text: string, now: Date = new Date()): void {
    const time = now.toISOString();
    const lines = text.replace(/\n+$/, '').split(/\r?\n/);
    // A CR or an ESC in a name must not rewrite the line when the log is read with cat or less.
    const chunk = lines.map((l) => `${time} ${escapeControls(l)}\n`).join('');
    try {
      appendFileSync(this.path, chunk, { mode: 0o600 });
    } catch (error) {
      this.failure ??= error as Error;
    }
  }

  /** Lines were written as they came; this only reports a write that failed, if any did. */
  async close(): Promise<void> {
    if (this.failure) {
      const failure = this.failure;
      this.failure = undefined;
      throw new Error(`Could not append to ${this.path}: ${failure.message}`);
    }
  }
}

