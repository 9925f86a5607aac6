// Pre-staging's rollback and resume (issue 20): the CLI is killed (SIGKILL, the test-only hook)
// at every point of the two staging steps, and `rollback` must leave the original host on vfs
// with no private dockerd, no mount and no directory of the staging behind (the staged root,
// its runtime dir under the rig daemon's directory). A run killed in the middle of the staging
// must also resume to a clean verify. The staged run's own result is run.test.ts's.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDist, run } from '../rig/index.js';
import { hostSnapshot } from '../rig/snapshot.js';
import { cli, currentRun, differences, explain, KILLED, setUpRig, tearDown, writeAnswers, type FaultRig } from './fault-common.js';

let rig: FaultRig | undefined;
let besideDataRoot: string[] = [];

beforeAll(async () => {
  await ensureDist();
  rig = await setUpRig('staging');
  writeAnswers(rig, { extra: 'staging: on' });
  besideDataRoot = readdirSync(dirname(rig.daemon.dataRoot)).sort();
}, 600_000);

afterAll(async () => {
  await tearDown(rig);
});

/** What a staging may leave: its private dockerd (any process naming the runtime dir), mounts, directories. */
async function stagingLeftovers(r: FaultRig): Promise<string[]> {
  const runtime = join(r.daemon.dir, 'rt');
  const processes = (await run('pgrep', ['-f', '--', `${runtime}/`])).stdout.split('\n').filter(Boolean);
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((line) => line.split(' ')[4] ?? '').filter((m) => m.startsWith(`${runtime}/`) || m.includes('-staged'));
  const entries = readdirSync(dirname(r.daemon.dataRoot)).sort().filter((name) => !besideDataRoot.includes(name));
  const inside = existsSync(r.daemon.dataRoot) ? readdirSync(r.daemon.dataRoot).filter((name) => name.endsWith('-staged')) : [];
  return [
    ...processes.map((pid) => `process ${pid} names ${runtime}/`),
    ...mounts.map((m) => `mount ${m}`),
    ...entries.map((name) => `left beside the data-root: ${name}`),
    ...inside.map((name) => `left in the data-root: ${name}`),
  ];
}

const POINTS = ['stage-images:before', 'stage-images:middle', 'stage-images:after', 'place-staged-root:before', 'place-staged-root:after'];

describe('pre-staging killed at each of its points', () => {
  it.each(POINTS)('rollback from %s leaves the original host and nothing of the staging', async (point) => {
    const r = rig!;
    const stateDir = join(r.work, `state-${point.replace(':', '-')}`);
    const killed = await cli(r, ['run', '--answers', r.answersPath, '--yes'], { DEVMAPPER_MIGRATE_TEST_KILL_AT: point }, stateDir);
    expect(killed.code, explain(r, killed, 'run')).toBe(KILLED);
    const plan = readFileSync(join(currentRun(stateDir).runDir, 'plan.json'), 'utf8');
    expect(plan).toContain('"stage-images"');
    const rolledBack = await cli(r, ['rollback', '--yes'], {}, stateDir);
    expect(rolledBack.code, explain(r, rolledBack, 'rollback')).toBe(0);
    expect(differences(r.before, await hostSnapshot(r.daemon), 'vfs')).toEqual([]);
    expect(await stagingLeftovers(r)).toEqual([]);
  }, 600_000);

  it('resumes from the middle of the staging to a clean verify, and its rollback leaves nothing of it', async () => {
    const r = rig!;
    const stateDir = join(r.work, 'state-resume');
    const killed = await cli(r, ['run', '--answers', r.answersPath, '--yes'], { DEVMAPPER_MIGRATE_TEST_KILL_AT: 'stage-images:middle' }, stateDir);
    expect(killed.code, explain(r, killed, 'run')).toBe(KILLED);
    const resumed = await cli(r, ['resume', '--yes'], {}, stateDir);
    expect(resumed.code, explain(r, resumed, 'resume')).toBe(0);
    expect(readFileSync(join(currentRun(stateDir).runDir, 'run.log'), 'utf8')).toMatch(/were staged before the stop: none loaded now/);
    expect(differences(r.before, await hostSnapshot(r.daemon), 'overlay2')).toEqual([]);
    const verify = await cli(r, ['verify'], {}, stateDir);
    expect(verify.code, explain(r, verify, 'verify')).toBe(0);
    const rolledBack = await cli(r, ['rollback', '--yes'], {}, stateDir);
    expect(rolledBack.code, explain(r, rolledBack, 'rollback')).toBe(0);
    expect(differences(r.before, await hostSnapshot(r.daemon), 'vfs')).toEqual([]);
    // A rollback after Docker ran on the new data-root keeps it aside (as without staging); nothing else of the staging stays.
    const left = (await stagingLeftovers(r)).filter((line) => !/\.devmapper-migrate-[\w-]+\.target$/.test(line));
    expect(left).toEqual([]);
  }, 900_000);
});
