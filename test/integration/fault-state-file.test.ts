// A damaged state file (issue 10): a run is killed after it stopped the containers (the host
// is changed), then its state.json is truncated, emptied, filled with junk, or replaced by JSON
// that is no state file. `status`, `resume` and `rollback` explain it and exit 4; the file is
// left byte for byte as it was; nothing is reset or started over, and the host is not touched.
// Put back, the state file still rolls the host back. Last, `run` must not start a new run
// over a damaged one either.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, ensureDist } from '../rig/index.js';
import { cli, currentRun, explain, expectHost, KILLED, setUpRig, tearDown, type FaultRig } from './fault-common.js';

let rig: FaultRig | undefined;
let statePath = '';
let original: Buffer;

beforeAll(async () => {
  await ensureDist();
  rig = await setUpRig('state-file');
}, 600_000);

afterAll(async () => {
  await tearDown(rig);
});

/** Kills a run after stop-containers: an open run that changed the host. */
async function killedRun(): Promise<void> {
  const killed = await cli(rig!, ['run', '--answers', rig!.answersPath, '--yes'], { DEVMAPPER_MIGRATE_TEST_KILL_AT: 'stop-containers:after' });
  expect(killed.code, explain(rig!, killed)).toBe(KILLED);
  statePath = join(currentRun(rig!.stateDir).runDir, 'state.json');
  original = readFileSync(statePath);
  expect(await docker(rig!.daemon, 'inspect', '--format', '{{.State.Status}}', 'fault-web')).toBe('exited');
}

const damages: Record<string, () => Buffer> = {
  'truncated in the middle': () => original.subarray(0, Math.floor(original.length / 2)),
  'empty (0 bytes)': () => Buffer.alloc(0),
  'binary junk': () => Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 151 + 7) % 256)),
  'valid JSON, not a state file': () => Buffer.from('{"hello": "world"}\n'),
  'a state file of another version': () => Buffer.from(JSON.stringify({ ...JSON.parse(original.toString('utf8')), version: 999 })),
};

describe('a damaged state.json', () => {
  beforeAll(killedRun, 300_000);

  for (const [name, damage] of Object.entries(damages)) {
    it(`${name}: status, resume and rollback explain it (exit 4) and leave the file as it was`, async () => {
      const damaged = damage();
      writeFileSync(statePath, damaged);
      const runs = readdirSync(join(rig!.stateDir, 'runs'));
      for (const args of [['status'], ['status', '--json'], ['resume', '--yes'], ['rollback', '--yes']]) {
        const result = await cli(rig!, args);
        const what = `${args.join(' ')} with state.json ${name}`;
        expect(result.code, explain(rig!, result, what)).toBe(4);
        expect(result.stderr, what).toContain(statePath);
        expect(result.stderr, what).toMatch(/damaged|not valid JSON|not a version-\d+ state file|cannot be read/);
        expect(result.stderr, what).not.toMatch(/\n\s+at .+:\d+:\d+\)?\n/); // no stack trace
        expect(readFileSync(statePath).equals(damaged), `${what}: state.json was changed`).toBe(true);
      }
      // Nothing reset or started over: the same runs, the same current one, the host untouched.
      expect(readdirSync(join(rig!.stateDir, 'runs'))).toEqual(runs);
      expect(await docker(rig!.daemon, 'info', '--format', '{{.Driver}}')).toBe('vfs');
      expect(await docker(rig!.daemon, 'inspect', '--format', '{{.State.Status}}', 'fault-web')).toBe('exited');
    }, 300_000);
  }

  it('put back as it was, the state file still rolls the host back', async () => {
    writeFileSync(statePath, original);
    const result = await cli(rig!, ['rollback', '--yes']);
    expect(result.code, explain(rig!, result)).toBe(0);
    await expectHost(rig!, 'vfs');
  }, 300_000);
});

// Found by this test and fixed: `run` read the current run with `.catch(() => undefined)`, so
// a damaged state file counted as no run: a new run started, and its inventory recorded the
// containers the killed run had stopped as not running, so they were never started again.
describe('run over a damaged open run', () => {
  it('refuses to start a new run (exit 4), naming the damaged state file; the host is not touched', async () => {
    // A fresh state dir with a new open run that stopped the containers, then damaged.
    rig!.stateDir = join(rig!.work, 'state-2');
    await killedRun();
    const damaged = original.subarray(0, 100);
    writeFileSync(statePath, damaged);
    const current = readFileSync(join(rig!.stateDir, 'current'), 'utf8');
    const result = await cli(rig!, ['run', '--answers', rig!.answersPath, '--yes']);
    expect(result.code, explain(rig!, result)).toBe(4);
    expect(result.stderr).toContain(statePath);
    expect(readFileSync(join(rig!.stateDir, 'current'), 'utf8')).toBe(current);
    expect(readFileSync(statePath).equals(damaged)).toBe(true);
    expect(await docker(rig!.daemon, 'info', '--format', '{{.Driver}}')).toBe('vfs');
  }, 300_000);
});
