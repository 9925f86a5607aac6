/**
 * A pseudo-terminal for tests that drive the real prompts by keystrokes: a private tmux server
 * (its own socket file, so other tmux servers are never touched) with one pane running a
 * command. Needs tmux (Debian package "tmux"). Always `kill()` it in a finally.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
let terminals = 0;

export class TmuxTerminal {
  private readonly socket: string;

  /** `dir` holds the server's socket: a short path (sockets are limited to ~100 characters). */
  constructor(dir: string) {
    this.socket = path.join(dir, `tmux-${process.pid}-${++terminals}.sock`);
  }

  /** Starts the pane (width x height) running a shell command. */
  async start(command: string, width = 140, height = 50): Promise<void> {
    await this.tmux('new-session', '-d', '-s', 'w', '-x', String(width), '-y', String(height), command);
  }

  private async tmux(...args: string[]): Promise<string> {
    const { stdout } = await run('tmux', ['-S', this.socket, '-f', '/dev/null', ...args], {
      env: { ...process.env, TMUX: '' },
    });
    return stdout;
  }

  /** The pane's whole history as text (wrapped lines joined). */
  screen(): Promise<string> {
    return this.tmux('capture-pane', '-p', '-J', '-S', '-', '-t', 'w');
  }

  /** Waits until the screen holds one of the texts; returns the screen. */
  async waitFor(text: string | readonly string[], timeoutMs = 15_000): Promise<string> {
    const texts = typeof text === 'string' ? [text] : text;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const screen = await this.screen();
      if (texts.some((t) => screen.includes(t))) return screen;
      if (Date.now() > deadline) throw new Error(`${texts.map((t) => `"${t}"`).join(' or ')} did not appear on the terminal; it shows:\n${screen}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Keys by tmux name (Down, Up, Space, Enter, BSpace, C-c). */
  async keys(...keys: string[]): Promise<void> {
    for (const key of keys) await this.tmux('send-keys', '-t', 'w', key);
  }

  /** Text typed as it is. */
  async type(text: string): Promise<void> {
    await this.tmux('send-keys', '-t', 'w', '-l', text);
  }

  /** Waits for the question, then answers it with keys. */
  async answer(question: string, ...keys: string[]): Promise<void> {
    await this.waitFor(question);
    await this.keys(...keys);
  }

  /** Waits for the question, then types the text and Enter. */
  async typeAnswer(question: string, text: string): Promise<void> {
    await this.waitFor(question);
    if (text) await this.type(text);
    await this.keys('Enter');
  }

  /** Ends the server and everything in its pane. */
  async kill(): Promise<void> {
    await this.tmux('kill-server').catch(() => undefined);
  }
}
