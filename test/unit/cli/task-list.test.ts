/**
 * The task list: steps run in order, 'plain' and 'json' output line by line, transfers with
 * rate and time left (throttled), skipped and failed steps, the failing step's error passed on
 * unchanged, everything also in run.log; and the listr2 view on a real pseudo-terminal
 * (util-linux `script`), whose final screen is the example in docs/task-list.txt.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { chooseTaskListMode, runTaskList, type TaskListMode, type TaskListStep } from '../../../src/cli/task-list.js';
import { RunLog } from '../../../src/run/run-log.js';
import { runStepWithEvents, throttleTransfers, type StepEvent } from '../../../src/cli/task-list/events.js';
import { TransferMeter, formatTransfer } from '../../../src/cli/task-list/transfer-meter.js';
import { activeTransfersLine } from '../../../src/cli/task-list/interactive.js';
import { InterruptedError, OperatorError } from '../../../src/errors.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const START = Date.parse('2026-11-22T10:00:00Z');
const ANSI = /\x1b\[/; // eslint-disable-line no-control-regex

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'dmm-task-list-'));
});
afterEach(() => {
  vi.useRealTimers();
  rmSync(dir, { recursive: true, force: true });
});

/** Moves the (faked) clock on by `ms`. */
const advance = (ms: number) => vi.setSystemTime(Date.now() + ms);

/** The fake run: a skipped step, a step that says and transfers, a failing step, and one after it. */
function fakeSteps(failure: Error, ran: string[]): TaskListStep[] {
  return [
    {
      id: 'check-host',
      title: 'Check the host',
      phase: 'preflight',
      run: async () => {
        ran.push('check-host');
        return 'skipped';
      },
    },
    {
      id: 'save-images',
      title: 'Save images',
      phase: 'export',
      run: async (progress) => {
        ran.push('save-images');
        progress.say('Saving image app/web:1.0 (212 MB)…');
        // 1.1 GB at 50 MB/s, an update every second for 22 s.
        for (let second = 0; second <= 22; second++) {
          progress.transfer({ label: 'app/web:1.0', doneBytes: Math.min(second * 50_000_000, 1_100_000_000), totalBytes: 1_100_000_000 });
          advance(1000);
        }
        progress.say('Saved app/web:1.0 in 22.0 s');
        return 'done';
      },
    },
    {
      id: 'stop-containers',
      title: 'Stop containers',
      phase: 'quiesce',
      run: async (progress) => {
        ran.push('stop-containers');
        progress.say('Stopping web');
        advance(500);
        throw failure;
      },
    },
    {
      id: 'stop-daemon',
      title: 'Stop Docker',
      phase: 'cutover',
      run: async () => {
        ran.push('stop-daemon');
        return 'done';
      },
    },
  ];
}

async function runFake(mode: TaskListMode): Promise<{ output: string; logText: string; failure: Error; rejected: unknown; ran: string[] }> {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(START);
  const logPath = path.join(dir, 'run.log');
  const log = await RunLog.open(logPath);
  const failure = new OperatorError('Container web did not stop within 10 s.', 'Stop it by hand, then run `devmapper-migrate resume`.');
  const ran: string[] = [];
  let output = '';
  let rejected: unknown;
  try {
    await runTaskList(fakeSteps(failure, ran), { mode, write: (text) => (output += text), log });
  } catch (error) {
    rejected = error;
  }
  await log.close();
  return { output, logText: readFileSync(logPath, 'utf8'), failure, rejected, ran };
}

describe('chooseTaskListMode', () => {
  it('is interactive only on a terminal, without --json, outside CI', () => {
    expect(chooseTaskListMode({ json: false, stdoutIsTTY: true, ci: false })).toBe('interactive');
    expect(chooseTaskListMode({ json: false, stdoutIsTTY: false, ci: false })).toBe('plain');
    expect(chooseTaskListMode({ json: false, stdoutIsTTY: true, ci: true })).toBe('plain');
    expect(chooseTaskListMode({ json: true, stdoutIsTTY: true, ci: false })).toBe('json');
    expect(chooseTaskListMode({ json: true, stdoutIsTTY: false, ci: true })).toBe('json');
  });
});

describe("runTaskList in 'plain' mode", () => {
  it('prints one timestamped line per event, throttles transfers, and rejects with the failing step\'s own error', async () => {
    const { output, logText, failure, rejected, ran } = await runFake('plain');

    expect(rejected).toBe(failure);
    expect(ran).toEqual(['check-host', 'save-images', 'stop-containers']);
    expect(output).not.toMatch(ANSI);
    const lines = output.trimEnd().split('\n');
    expect(lines.slice(0, 5)).toEqual([
      '2026-11-22T10:00:00Z [preflight] check-host: started: Check the host',
      '2026-11-22T10:00:00Z [preflight] check-host: skipped (already done)',
      '2026-11-22T10:00:00Z [export] save-images: started: Save images',
      '2026-11-22T10:00:00Z [export] save-images: Saving image app/web:1.0 (212 MB)…',
      '2026-11-22T10:00:00Z [export] save-images: app/web:1.0: 0 B of 1.1 GB',
    ]);
    const transfers = lines.filter((l) => l.includes('app/web:1.0: ') && !l.includes('Sav'));
    // 23 updates over 22 s: the first, one every 5 s, and the final one.
    expect(transfers).toEqual([
      '2026-11-22T10:00:00Z [export] save-images: app/web:1.0: 0 B of 1.1 GB',
      '2026-11-22T10:00:05Z [export] save-images: app/web:1.0: 250 MB of 1.1 GB, 50 MB/s, 17 s left',
      '2026-11-22T10:00:10Z [export] save-images: app/web:1.0: 500 MB of 1.1 GB, 50 MB/s, 12 s left',
      '2026-11-22T10:00:15Z [export] save-images: app/web:1.0: 750 MB of 1.1 GB, 50 MB/s, 7 s left',
      '2026-11-22T10:00:20Z [export] save-images: app/web:1.0: 1.0 GB of 1.1 GB, 50 MB/s, 2 s left',
      '2026-11-22T10:00:22Z [export] save-images: app/web:1.0: 1.1 GB of 1.1 GB, 50 MB/s',
    ]);
    expect(lines.slice(-5)).toEqual([
      '2026-11-22T10:00:23Z [export] save-images: Saved app/web:1.0 in 22.0 s',
      '2026-11-22T10:00:23Z [export] save-images: done in 23.0 s',
      '2026-11-22T10:00:23Z [quiesce] stop-containers: started: Stop containers',
      '2026-11-22T10:00:23Z [quiesce] stop-containers: Stopping web',
      '2026-11-22T10:00:23Z [quiesce] stop-containers: FAILED: Container web did not stop within 10 s.',
    ]);
    expect(output).not.toContain('stop-daemon');
    expect(output).not.toMatch(/^\s+at /m);

    // run.log has every shown line, with the full ISO time in front.
    const logged = logText.trimEnd().split('\n');
    expect(logged).toHaveLength(lines.length);
    logged.forEach((line, i) => {
      const [time, ...rest] = line.split(' ');
      expect(time).toMatch(/^2026-11-22T10:00:\d\d\.\d{3}Z$/);
      expect(`${time!.replace(/\.\d{3}Z$/, 'Z')} ${rest.join(' ')}`).toBe(lines[i]);
    });
  });

  it('stops before the next step once the signal is aborted, with an InterruptedError', async () => {
    const log = await RunLog.open(path.join(dir, 'run.log'));
    const controller = new AbortController();
    const ran: string[] = [];
    const step = (id: string, onRun?: () => void): TaskListStep => ({
      id,
      title: id,
      phase: 'restore',
      run: async () => {
        ran.push(id);
        onRun?.();
        return 'done';
      },
    });
    let output = '';
    const rejected = await runTaskList([step('load-images', () => controller.abort()), step('create-networks')], {
      mode: 'plain',
      write: (text) => (output += text),
      log,
      signal: controller.signal,
    }).catch((error: unknown) => error);
    expect(rejected).toBeInstanceOf(InterruptedError);
    expect((rejected as InterruptedError).message).toContain('before create-networks');
    expect(ran).toEqual(['load-images']);
    expect(output).toContain('load-images: done');
    expect(output).not.toContain('create-networks');
  });

  it('passes on whatever a step throws, even a value that is not an Error', async () => {
    const log = await RunLog.open(path.join(dir, 'run.log'));
    let output = '';
    const thrown = { code: 'EWEIRD' };
    const rejected = await runTaskList(
      [{ id: 'odd', title: 'Odd', phase: 'verify', run: () => Promise.reject(thrown) }],
      { mode: 'plain', write: (text) => (output += text), log },
    ).catch((error: unknown) => error);
    expect(rejected).toBe(thrown);
    expect(output).toContain('[verify] odd: FAILED: [object Object]');
  });

  it('keeps a multi-line message on one line per event', async () => {
    const log = await RunLog.open(path.join(dir, 'run.log'));
    let output = '';
    await runTaskList([{ id: 'a', title: 'A', phase: 'cutover', run: async (p) => (p.say('first\nsecond'), 'done') }], {
      mode: 'plain',
      write: (text) => (output += text),
      log,
    });
    expect(output).toMatch(/\[cutover\] a: first \| second\n/);
    expect(readFileSync(path.join(dir, 'run.log'), 'utf8')).toMatch(/Z \[cutover\] a: first \| second\n/);
  });
});

describe("runTaskList in 'json' mode", () => {
  it('writes one JSON object per event and per second of transfer, and the failure\'s message', async () => {
    const { output, logText, failure, rejected, ran } = await runFake('json');
    expect(rejected).toBe(failure);
    expect(ran).toEqual(['check-host', 'save-images', 'stop-containers']);
    const lines = output.trimEnd().split('\n');
    const events = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const event of events) {
      expect(Object.keys(event).every((k) => ['time', 'phase', 'step', 'event', 'text', 'doneBytes', 'totalBytes', 'label', 'message'].includes(k))).toBe(true);
      expect(event.time).toMatch(/^2026-11-22T10:00:\d\d\.\d{3}Z$/);
    }
    const kinds = events.filter((e) => e.event !== 'transfer').map((e) => `${e.step}:${e.event}`);
    expect(kinds).toEqual([
      'check-host:start',
      'check-host:skipped',
      'save-images:start',
      'save-images:say',
      'save-images:say',
      'save-images:done',
      'stop-containers:start',
      'stop-containers:say',
      'stop-containers:failed',
    ]);
    const transfers = events.filter((e) => e.event === 'transfer');
    // One a second: every update of the fake (it reports once a second).
    expect(transfers).toHaveLength(23);
    expect(transfers[10]).toEqual({
      time: '2026-11-22T10:00:10.000Z',
      phase: 'export',
      step: 'save-images',
      event: 'transfer',
      text: 'app/web:1.0: 500 MB of 1.1 GB, 50 MB/s, 12 s left',
      label: 'app/web:1.0',
      doneBytes: 500_000_000,
      totalBytes: 1_100_000_000,
    });
    expect(events.at(-1)).toEqual({
      time: '2026-11-22T10:00:23.500Z',
      phase: 'quiesce',
      step: 'stop-containers',
      event: 'failed',
      message: 'Container web did not stop within 10 s.',
    });
    // The log stays readable: transfers every 5 s there too, whatever the screen shows.
    expect(logText.split('\n').filter((l) => l.includes(' of 1.1 GB'))).toHaveLength(6);
    expect(logText).toContain('[quiesce] stop-containers: FAILED: Container web did not stop within 10 s.');
  });
});

describe('transfer progress', () => {
  it('measures the rate over a moving window and says the time left only when the total is known', () => {
    const meter = new TransferMeter();
    expect(meter.update({ label: 'vol', doneBytes: 0 }, 0)).toBe('vol: 0 B');
    expect(meter.update({ label: 'vol', doneBytes: 10_000_000 }, 250)).toBe('vol: 10 MB');
    // 100 MB/s for 10 s...
    for (let s = 1; s <= 10; s++) meter.update({ label: 'vol', doneBytes: s * 100_000_000 }, s * 1000);
    expect(meter.rate('vol')).toBeCloseTo(100_000_000, -6);
    // ...then 10 MB/s for 20 s: the old pace leaves the window.
    let line = '';
    for (let s = 1; s <= 20; s++) line = meter.update({ label: 'vol', doneBytes: 1_000_000_000 + s * 10_000_000, totalBytes: 2_000_000_000 }, 10_000 + s * 1000);
    expect(meter.rate('vol')).toBeCloseTo(10_000_000, -5);
    expect(line).toBe('vol: 1.2 GB of 2.0 GB, 10 MB/s, 1 min 20 s left');
    // A new label starts a measurement of its own.
    expect(meter.update({ label: 'other', doneBytes: 5 }, 40_000)).toBe('other: 5 B');
  });

  it('holds a bounded history however often updates come (one per chunk of a fast save)', () => {
    const meter = new TransferMeter();
    let line = '';
    // An update every millisecond for a minute, at 100 MB/s.
    for (let ms = 0; ms <= 60_000; ms++) line = meter.update({ label: 'img', doneBytes: ms * 100_000, totalBytes: 12_000_000_000 }, ms);
    expect(meter.samplesHeld('img')).toBeGreaterThan(2);
    expect(meter.samplesHeld('img')).toBeLessThanOrEqual(42); // 10 s window / 250 ms, and the ends
    expect(meter.rate('img')).toBeCloseTo(100_000_000, -5);
    expect(line).toBe('img: 6.0 GB of 12 GB, 100 MB/s, 1 min left');
    // The rate runs up to the latest update, also between kept samples.
    meter.update({ label: 'img', doneBytes: 6_000_000_000 + 50_000_000, totalBytes: 12_000_000_000 }, 60_100);
    expect(meter.rate('img')).toBeGreaterThan(100_000_000);
  });

  it('keeps each label\'s rate while two transfers alternate (two saves at once)', () => {
    const meter = new TransferMeter();
    let a = '';
    let b = '';
    for (let s = 0; s <= 4; s++) {
      a = meter.update({ label: 'a:1', doneBytes: s * 100_000_000, totalBytes: 1_000_000_000 }, s * 1000);
      b = meter.update({ label: 'b:2', doneBytes: s * 20_000_000 }, s * 1000 + 500);
    }
    expect(a).toBe('a:1: 400 MB of 1.0 GB, 100 MB/s, 6 s left');
    expect(b).toBe('b:2: 80 MB, 20 MB/s');
    expect(meter.rate('a:1')).toBeCloseTo(100_000_000, -6);
  });

  it('throttles each label on its own, so neither of two saves at once hides the other', () => {
    const seen: string[] = [];
    const sink = throttleTransfers((e) => seen.push(`${e.event}:${e.text}`), 5000);
    const transfer = (at: number, label: string, text: string): StepEvent => ({ time: new Date(at), phase: 'export', step: 's', event: 'transfer', label, text });
    sink(transfer(0, 'a', 'a0'));
    sink(transfer(100, 'b', 'b0'));
    sink(transfer(1000, 'a', 'a1'));
    sink(transfer(1100, 'b', 'b1'));
    sink(transfer(5000, 'a', 'a2'));
    sink({ time: new Date(5500), phase: 'export', step: 's', event: 'done', text: '5.5 s' });
    expect(seen).toEqual(['transfer:a0', 'transfer:b0', 'transfer:a2', 'transfer:b1', 'done:5.5 s']);
  });

  it('shows every transfer in progress on the step\'s line, and forgets the finished and stale ones', () => {
    const active = new Map<string, { text: string; at: number }>();
    const transfer = (at: number, label: string, doneBytes: number, totalBytes?: number): StepEvent => ({
      time: new Date(at), phase: 'export', step: 's', event: 'transfer', label, doneBytes, totalBytes, text: `${label}: ${doneBytes}`,
    });
    expect(activeTransfersLine(active, transfer(0, 'a', 1, 10))).toBe('a: 1');
    expect(activeTransfersLine(active, transfer(100, 'b', 5))).toBe('a: 1  ·  b: 5');
    expect(activeTransfersLine(active, transfer(200, 'a', 10, 10))).toBe('b: 5');
    expect(activeTransfersLine(active, transfer(300, 'c', 2))).toBe('b: 5  ·  c: 2');
    // b has not moved for more than 3 s: it ended (its total was an estimate).
    expect(activeTransfersLine(active, transfer(3500, 'c', 3))).toBe('c: 3');
  });

  it('formats the parts it has', () => {
    expect(formatTransfer({ label: 'app/web:1.0', doneBytes: 212_000_000, totalBytes: 1_100_000_000 }, 48_000_000)).toBe(
      'app/web:1.0: 212 MB of 1.1 GB, 48 MB/s, 19 s left',
    );
    expect(formatTransfer({ label: 'x', doneBytes: 212_000_000 }, 48_000_000)).toBe('x: 212 MB, 48 MB/s');
    expect(formatTransfer({ label: 'x', doneBytes: 5, totalBytes: 5 }, 1)).toBe('x: 5 B of 5 B, 1 B/s');
    // Past an estimated total (tar headers on top of an image's size): never "2.1 MB of 2.0 MB".
    expect(formatTransfer({ label: 'x', doneBytes: 2_100_000, totalBytes: 2_000_000 }, 1_000_000)).toBe('x: 2.1 MB, 1.0 MB/s');
  });

  it('passes on a transfer reported with every chunk at most every 100 ms, and its latest figures before the next event', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(START);
    const seen: StepEvent[] = [];
    const step = (fail: boolean) => ({
      id: 'save-images',
      title: 'Save images',
      phase: 'export' as const,
      run: async (progress: Parameters<TaskListStep['run']>[0]) => {
        // An update every millisecond, the last one 40 ms after one was passed on (at 1,000 ms).
        for (let ms = 0; ms < 1040; ms++) {
          progress.transfer({ label: 'img', doneBytes: ms * 1000, totalBytes: 2_000_000 });
          advance(1);
        }
        progress.transfer({ label: 'img', doneBytes: 1_500_000, totalBytes: 2_000_000 });
        if (fail) throw new Error('the disk filled up');
        progress.say('Saved img');
        progress.transfer({ label: 'vol', doneBytes: 10, totalBytes: 20 });
        advance(1);
        progress.transfer({ label: 'vol', doneBytes: 20, totalBytes: 20 });
        return 'done' as const;
      },
    });
    await runStepWithEvents(step(false), (e) => seen.push(e));
    const transfers = (label: string) => seen.filter((e) => e.event === 'transfer' && e.label === label);
    // At 0, 100, ... 1,000 ms, and the held-back last figures just before "Saved img".
    expect(transfers('img').map((e) => e.doneBytes)).toEqual([0, 100_000, 200_000, 300_000, 400_000, 500_000, 600_000, 700_000, 800_000, 900_000, 1_000_000, 1_500_000]);
    expect(transfers('img').at(-1)?.time.getTime()).toBe(START + 1040);
    expect(seen.map((e) => e.event)).toEqual(['start', ...Array(12).fill('transfer'), 'say', 'transfer', 'transfer', 'done']);
    // A complete transfer goes out at once, however soon after the one before.
    expect(transfers('vol').map((e) => e.doneBytes)).toEqual([10, 20]);
    // A failing step shows its latest figures before the failure.
    seen.length = 0;
    await expect(runStepWithEvents(step(true), (e) => seen.push(e))).rejects.toThrow('the disk filled up');
    expect(seen.slice(-2).map((e) => [e.event, e.doneBytes ?? e.message])).toEqual([['transfer', 1_500_000], ['failed', 'the disk filled up']]);
  });

  it('sends a held-back transfer before the step\'s next event, so the final state is always shown', () => {
    const seen: string[] = [];
    const sink = throttleTransfers((e) => seen.push(`${e.event}:${e.text}`), 5000);
    const event = (at: number, kind: StepEvent['event'], text: string): StepEvent => ({ time: new Date(at), phase: 'export', step: 's', event: kind, text });
    sink(event(0, 'transfer', 'a'));
    sink(event(1000, 'transfer', 'b'));
    sink(event(2000, 'transfer', 'c'));
    sink(event(2500, 'say', 'next'));
    sink(event(3000, 'transfer', 'd'));
    sink(event(9000, 'transfer', 'e'));
    expect(seen).toEqual(['transfer:a', 'transfer:c', 'say:next', 'transfer:e']);
  });
});

// The listr2 view needs a terminal: run a small driver under util-linux `script`, which gives it
// a pseudo-terminal, and read what it drew.
describe("runTaskList in 'interactive' mode (pseudo-terminal)", () => {
  let ptyDir: string;
  let driver: string;

  beforeAll(async () => {
    ptyDir = mkdtempSync(path.join(tmpdir(), 'dmm-task-list-pty-'));
    const source = path.join(ptyDir, 'driver.ts');
    writeFileSync(source, driverSource());
    driver = path.join(ptyDir, 'driver.mjs');
    await build({
      entryPoints: [source],
      outfile: driver,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node16',
      logLevel: 'warning',
      // listr2 7's log-update loads CommonJS signal-exit, which require()s; the real bundle has the same banner.
      banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    });
  }, 60_000);

  afterAll(() => rmSync(ptyDir, { recursive: true, force: true }));

  function runOnTerminal(...args: string[]): { screen: string; frames: string[]; logText: string } {
    const logPath = path.join(ptyDir, `run-${args.join('-') || 'ok'}.log`);
    // `stty` gives the terminal a size: listr2 wraps to its width, and a new pty has none.
    const command = `stty cols 100 rows 40; ${process.execPath} ${driver} ${logPath} ${args.join(' ')}`;
    const result = spawnSync('script', ['-qfec', command, '/dev/null'], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, CI: '' } });
    expect(result.status).toBe(0);
    const raw = result.stdout;
    // log-update erases the previous frame with "ESC[2K" + "ESC[1A" before drawing the next.
    const frames = raw.split(/(?:\x1b\[2K\x1b\[1A)+\x1b\[2K\x1b\[G/).map(plain); // eslint-disable-line no-control-regex
    return { screen: raw, frames, logText: readFileSync(logPath, 'utf8') };
  }

  it('draws the phases with their steps beneath, the step\'s output and transfers, and completes', () => {
    const { screen, frames, logText } = runOnTerminal();
    expect(screen).toMatch(ANSI);
    const last = frames.at(-1)!;
    expect(last).toContain('DRIVER: resolved');
    for (const title of ['Preflight', 'Check the host (already done)', 'Export (containers still running)', 'Save images', 'Quiesce (containers stop)', 'Stop containers', 'Cutover (Docker stopped)', 'Stop Docker']) {
      expect(last).toContain(title);
    }
    // Steps are indented beneath their phase, ✔ once done, ↓ when skipped.
    expect(last).toMatch(/^✔ Export \(containers still running\).*\n {2}✔ Save images/m);
    expect(last).toMatch(/^ {2}↓ Check the host \(already done\)/m);
    const running = frames.find((f) => /› app\/web:1\.0: \d+ MB of 212 MB, \d+ MB\/s/.test(f));
    expect(running, 'a frame shows the transfer with its rate').toBeDefined();
    expect(frames.some((f) => f.includes('› Saving image app/web:1.0 (212 MB)…'))).toBe(true);
    expect(logText).toContain('[export] save-images: Saving image app/web:1.0 (212 MB)…');
    expect(logText).toContain('[cutover] stop-daemon: done in');

    if (process.env.DMM_UPDATE_DOCS === '1') {
      const failed = runOnTerminal('--fail').frames.at(-1)!;
      const withoutTerminal = (mode: string) =>
        spawnSync(process.execPath, [driver, path.join(ptyDir, `${mode}.log`), '--fail', mode], { encoding: 'utf8' }).stdout.replace(/\nDRIVER:.*$/s, '');
      mkdirSync(path.join(repo, 'docs'), { recursive: true });
      writeFileSync(path.join(repo, 'docs/task-list.txt'), docText(running!, last, failed, withoutTerminal('plain'), withoutTerminal('json')));
    }
  });

  it('shows a failing step as failed with its message and no stack, and the driver gets the same error', () => {
    const { frames, logText } = runOnTerminal('--fail');
    const last = frames.at(-1)!;
    expect(last).toContain('DRIVER: rejected, same error: true');
    expect(last).toMatch(/^ {2}✖ Stop containers\n {4}› Container web did not stop within 10 s\.$/m);
    expect(last).not.toMatch(/^\s+at /m);
    expect(last).not.toContain('✔ Stop Docker');
    expect(logText).toContain('[quiesce] stop-containers: FAILED: Container web did not stop within 10 s.');
    expect(logText).not.toContain('stop-daemon');
  });
});

/** Removes terminal codes and carriage returns: the frame as a person sees it. */
function plain(text: string): string {
  return text
    .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '') // eslint-disable-line no-control-regex
    .replace(/\r/g, '')
    .replace(/[ \t]+$/gm, '');
}

function docText(running: string, finished: string, failed: string, plainRun: string, jsonRun: string): string {
  const trim = (frame: string) => frame.replace(/\nDRIVER:.*$/s, '').trimEnd();
  return [
    '# The task list of `devmapper-migrate run` on a terminal (listr2), captured from a',
    '# pseudo-terminal by test/unit/cli/task-list.test.ts (DMM_UPDATE_DOCS=1) with',
    '# fake steps; colours removed. Without a terminal, in CI or with --json, the same events come',
    '# out one per line (plain text or JSON), and every event also goes to the run\'s run.log.',
    '',
    '## While a step runs (its latest line, or bytes done, total, rate and time left, beneath it)',
    '',
    trim(running),
    '',
    '## When the run ends',
    '',
    trim(finished),
    '',
    '## When a step fails (the run stops; later steps do not start)',
    '',
    trim(failed),
    '',
    '## The same failing run without a terminal (plain: logs, CI, Ansible)',
    '',
    plainRun.trimEnd(),
    '',
    '## The same failing run with --json (one object per line)',
    '',
    jsonRun.trimEnd(),
    '',
  ].join('\n');
}

/** The driver run on the pseudo-terminal: the fake run of the tests above, with real (short) pauses. */
function driverSource(): string {
  const src = (file: string) => JSON.stringify(path.join(repo, 'src', file));
  return `
import { runTaskList } from ${src('cli/task-list.ts')};
import { RunLog } from ${src('run/run-log.ts')};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const [logPath, flag, mode = 'interactive'] = process.argv.slice(2);
const log = await RunLog.open(logPath);
const failure = new Error('Container web did not stop within 10 s.');
const steps = [
  { id: 'check-host', title: 'Check the host', phase: 'preflight', run: async (p) => { p.say('overlay2 is supported; 41 GB free'); await sleep(200); return 'skipped'; } },
  { id: 'save-images', title: 'Save images', phase: 'export', run: async (p) => {
      p.say('Saving image app/web:1.0 (212 MB)…');
      await sleep(300);
      for (let i = 0; i <= 16; i++) { p.transfer({ label: 'app/web:1.0', doneBytes: Math.round(i * 212_000_000 / 16), totalBytes: 212_000_000 }); await sleep(120); }
      p.say('Saved app/web:1.0 in 2.0 s');
      return 'done';
    } },
  { id: 'stop-containers', title: 'Stop containers', phase: 'quiesce', run: async (p) => { p.say('Stopping web'); await sleep(300); if (flag === '--fail') throw failure; return 'done'; } },
  { id: 'stop-daemon', title: 'Stop Docker', phase: 'cutover', run: async (p) => { p.say('Stopping docker.service'); await sleep(300); return 'done'; } },
];
try {
  await runTaskList(steps, { mode, write: (text) => process.stdout.write(text), log });
  process.stdout.write('DRIVER: resolved\\n');
} catch (error) {
  process.stdout.write('DRIVER: rejected, same error: ' + (error === failure) + '\\n');
}
`;
}
