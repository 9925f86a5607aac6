/** run.log: created private, appended in order with ISO times, nothing lost at exit, a failed write reported by close. */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RunLog } from '../../../src/run/run-log.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'dmm-run-log-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const mode = (file: string) => statSync(file).mode & 0o777;

describe('RunLog', () => {
  it('creates the file with mode 0600 and appends "<ISO time> <text>" lines in order', async () => {
    const file = path.join(dir, 'run.log');
    const log = await RunLog.open(file);
    expect(mode(file)).toBe(0o600);
    log.line('run 20261122-100000-ab12 started', new Date('2026-11-22T10:00:00.000Z'));
    log.line('[export] save-images: Saving image app/web:1.0 (212 MB)…', new Date('2026-11-22T10:00:01.250Z'));
    await log.close();
    expect(readFileSync(file, 'utf8')).toBe(
      '2026-11-22T10:00:00.000Z run 20261122-100000-ab12 started\n' +
        '2026-11-22T10:00:01.250Z [export] save-images: Saving image app/web:1.0 (212 MB)…\n',
    );
  });

  it('appends to an existing log (resume) and narrows a wider mode', async () => {
    const file = path.join(dir, 'run.log');
    writeFileSync(file, '2026-11-22T09:00:00.000Z earlier line\n');
    chmodSync(file, 0o644);
    const log = await RunLog.open(file);
    log.line('run resumed', new Date('2026-11-22T11:00:00.000Z'));
    await log.close();
    expect(mode(file)).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toBe('2026-11-22T09:00:00.000Z earlier line\n2026-11-22T11:00:00.000Z run resumed\n');
  });

  it('timestamps every line of a multi-line text and adds nothing else', async () => {
    const file = path.join(dir, 'run.log');
    const log = await RunLog.open(file);
    log.line('The run stopped at stop-daemon: timeout\n  Run `devmapper-migrate resume`.\n', new Date('2026-11-22T10:00:00.000Z'));
    expect(readFileSync(file, 'utf8')).toBe(
      '2026-11-22T10:00:00.000Z The run stopped at stop-daemon: timeout\n2026-11-22T10:00:00.000Z   Run `devmapper-migrate resume`.\n',
    );
  });

  it('uses the current time by default', async () => {
    const file = path.join(dir, 'run.log');
    const log = await RunLog.open(file);
    const before = Date.now();
    log.line('now');
    const [time] = readFileSync(file, 'utf8').split(' ');
    expect(Date.parse(time!)).toBeGreaterThanOrEqual(before - 1);
    expect(time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('keeps the lines written just before the process exits', async () => {
    const file = path.join(dir, 'run.log');
    const source = path.join(dir, 'writer.ts');
    writeFileSync(
      source,
      `import { RunLog } from ${JSON.stringify(path.resolve('src/run/run-log.ts'))};
      const log = await RunLog.open(${JSON.stringify(file)});
      for (let i = 0; i < 200; i++) log.line('line ' + i);
      process.exit(4);`,
    );
    const script = path.join(dir, 'writer.mjs');
    await build({ entryPoints: [source], outfile: script, bundle: true, platform: 'node', format: 'esm', target: 'node16', logLevel: 'warning' });
    const result = spawnSync(process.execPath, [script], { encoding: 'utf8' });
    expect(result.status).toBe(4);
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(200);
    expect(lines.at(-1)).toMatch(/Z line 199$/);
  });

  it('never throws from line(); close() reports the first failed write', async () => {
    const file = path.join(dir, 'sub', 'run.log');
    await expect(RunLog.open(file)).rejects.toThrow(/ENOENT/);
    const ok = path.join(dir, 'run.log');
    const log = await RunLog.open(ok);
    rmSync(dir, { recursive: true, force: true });
    expect(() => log.line('lost')).not.toThrow();
    await expect(log.close()).rejects.toThrow(/Could not append to .*run\.log: ENOENT/);
    // Reported once: a second close is quiet.
    await expect(log.close()).resolves.toBeUndefined();
  });
});
