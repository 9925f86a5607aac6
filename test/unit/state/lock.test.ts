// The state dir's lock against real concurrent processes: several racing at once, over no lock
// file and over a stale one, must end with exactly one holder; a killed holder frees it.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OperatorError } from '../../../src/errors.js';
import { acquireLock } from '../../../src/state/lock.js';

let work: string;
let child: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'dmm-lock-'));
  child = join(work, 'lock-child.mjs');
  await build({ entryPoints: [new URL('./lock-child.ts', import.meta.url).pathname], outfile: child, bundle: true, platform: 'node', format: 'esm', logLevel: 'warning' });
}, 60_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Outcome {
  name: string;
  pid: number;
  acquired: boolean;
  takenOverFrom?: { pid: number } | null;
  message?: string;
}

function runChild(stateDir: string, name: string, startAt: number, holdMs: number): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [child, stateDir, name, String(startAt), String(holdMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    proc.on('error', reject);
    proc.on('close', () => {
      try {
        resolve(JSON.parse(out.trim()) as Outcome);
      } catch {
        reject(new Error(`child ${name} printed ${JSON.stringify(out)}`));
      }
    });
  });
}

/** `count` processes try for the lock at the same instant and hold it for a while when they get it. */
async function race(stateDir: string, count: number): Promise<Outcome[]> {
  const startAt = Date.now() + 1500; // every child is up and waiting by then
  return Promise.all(Array.from({ length: count }, (_, i) => runChild(stateDir, `racer-${i}`, startAt, 2500)));
}

function freshStateDir(name: string): string {
  const dir = join(work, name);
  mkdirSync(dir, { mode: 0o700 });
  return dir;
}

describe('state dir lock', () => {
  it('gives the lock to exactly one of six processes racing for it', async () => {
    const outcomes = await race(freshStateDir('fresh'), 6);
    expect(outcomes.filter((o) => o.acquired), JSON.stringify(outcomes)).toHaveLength(1);
    for (const loser of outcomes.filter((o) => !o.acquired)) expect(loser.message).toMatch(/Another (devmapper-migrate is working on this host|process holds the lock)/);
  }, 60_000);

  it('gives a stale lock (its holder gone) to exactly one of six processes racing for it, rounds after rounds', async () => {
    for (let round = 0; round < 3; round++) {
      const stateDir = freshStateDir(`stale-${round}`);
      writeFileSync(join(stateDir, 'lock'), JSON.stringify({ pid: 2 ** 22 + 1, startedAt: 'then', command: 'run' }) + '\n');
      const outcomes = await race(stateDir, 6);
      const winners = outcomes.filter((o) => o.acquired);
      expect(winners, JSON.stringify(outcomes)).toHaveLength(1);
      expect(winners[0]!.takenOverFrom?.pid).toBe(2 ** 22 + 1);
    }
  }, 120_000);

  it('refuses while another process holds it, naming that process; frees it when the holder is killed', async () => {
    const stateDir = freshStateDir('killed');
    const holder = runChild(stateDir, 'holder', Date.now(), 60_000);
    // Wait until the holder has written its name into the lock file.
    let text = '';
    for (let i = 0; i < 100 && !text.includes('holder'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      text = existsSync(join(stateDir, 'lock')) ? readFileSync(join(stateDir, 'lock'), 'utf8') : '';
    }
    const holderPid = (JSON.parse(text) as { pid: number }).pid;
    const refused = await acquireLock(stateDir, 'resume').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OperatorError);
    expect((refused as Error).message).toContain(`pid ${holderPid}`);
    expect((refused as Error).message).toContain('"holder"');

    process.kill(holderPid, 'SIGKILL');
    await holder.catch(() => undefined);
    const lock = await acquireLock(stateDir, 'rollback');
    expect(lock.takenOverFrom?.pid).toBe(holderPid);
    await lock.release();
    const again = await acquireLock(stateDir, 'status');
    expect(again.takenOverFrom).toBeUndefined();
    await again.release();
  }, 60_000);

  it('is refused to a second holder in the same process, and to one that holds it with flock(1)', async () => {
    const stateDir = freshStateDir('same');
    const first = await acquireLock(stateDir, 'run');
    await expect(acquireLock(stateDir, 'resume')).rejects.toThrow(`pid ${process.pid}`);
    await first.release();
    // Another tool holding the file with flock(1) counts too.
    const outside = spawn('flock', [join(stateDir, 'lock'), 'sleep', '30'], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 50; i++) {
        if (execFileSync('sh', ['-c', `flock -n ${join(stateDir, 'lock')} true; echo $?`], { encoding: 'utf8' }).trim() === '1') break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await expect(acquireLock(stateDir, 'run')).rejects.toThrow(/Another process holds the lock/);
    } finally {
      outside.kill('SIGKILL');
    }
  }, 60_000);
});
