// Ctrl+C (issue 6, issue 10): SIGINT reaches the CLI in the middle of a step (the test hook
// sends it, DEVMAPPER_MIGRATE_TEST_KILL_SIGNAL=SIGINT, so the point is exact). The run must say
// it stops at a safe point, exit 130, leave the step pending (not failed, no automatic
// rollback), and `status` must name `resume`. During the downtime (the images' restore) a
// `resume --yes` then finishes to a clean verify; before any change, `rollback --yes` leaves
// the host as it was.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDist } from '../rig/index.js';
import { hostSnapshot } from '../rig/snapshot.js';
import { cli, differences, explain, expectHost, readState, setUpRig, tearDown, type FaultRig } from './fault-common.js';

const INTERRUPTED = 130;

let rig: FaultRig | undefined;

beforeAll(async () => {
  await ensureDist();
  rig = await setUpRig('interrupt');
}, 600_000);

afterAll(async () => {
  await tearDown(rig);
});

/** A run that gets SIGINT at `point`: exit 130, the safe-point message, the step pending, nothing rolled back. */
async function interruptedAt(point: string, stateDir: string): Promise<void> {
  const result = await cli(rig!, ['run', '--answers', rig!.answersPath, '--yes'], { DEVMAPPER_MIGRATE_TEST_KILL_AT: point, DEVMAPPER_MIGRATE_TEST_KILL_SIGNAL: 'SIGINT' }, stateDir);
  expect(result.code, explain(rig!, result, `run interrupted at ${point}`)).toBe(INTERRUPTED);
  expect(result.stderr).toContain('Stopping at the next safe point');
  expect(result.stderr).toContain('stopped at a safe point');
  expect(result.stderr).toContain('devmapper-migrate resume');
  expect(result.stderr).not.toMatch(/\n\s+at .+:\d+:\d+\)?\n/);
  const state = readState(stateDir);
  // The step stops at its next safe point, or (work already running finishes) the next step
  // does not start: either way nothing is left running or failed, and the rest is pending.
  const step = point.split(':')[0]!;
  expect(state.status).toBe('in-progress');
  expect(state.steps.filter((s) => s.status === 'running' || s.status === 'failed')).toEqual([]);
  const from = state.steps.findIndex((s) => s.id === step);
  expect(from).toBeGreaterThanOrEqual(0);
  expect(state.steps.slice(0, from).every((s) => s.status === 'done')).toBe(true);
  expect(state.steps.findIndex((s) => s.status === 'pending')).toBeGreaterThanOrEqual(from);
  const status = await cli(rig!, ['status'], {}, stateDir);
  expect(status.code, explain(rig!, status, 'status')).toBe(0);
  expect(status.stdout).toContain('resume');
}

describe('Ctrl+C', () => {
  it('during the images\' restore (containers down): exit 130, no rollback; resume finishes to a clean verify', async () => {
    const stateDir = join(rig!.work, 'state-restore');
    await interruptedAt('load-images:middle', stateDir);
    // Docker runs on the target: the cutover was not undone.
    expect((await hostSnapshot(rig!.daemon)).driver).toBe('overlay2');
    const resumed = await cli(rig!, ['resume', '--yes'], {}, stateDir);
    expect(resumed.code, explain(rig!, resumed, 'resume')).toBe(0);
    const verify = await cli(rig!, ['verify'], {}, stateDir);
    expect(verify.code, explain(rig!, verify, 'verify')).toBe(0);
    expect(differences(rig!.before, await hostSnapshot(rig!.daemon), 'overlay2')).toEqual([]);
    const rolledBack = await cli(rig!, ['rollback', '--yes'], {}, stateDir);
    expect(rolledBack.code, explain(rig!, rolledBack, 'rollback')).toBe(0);
    await expectHost(rig!, 'vfs');
  }, 600_000);

  it('during the image saves (nothing changed yet): exit 130; rollback leaves the host as it was', async () => {
    const stateDir = join(rig!.work, 'state-save');
    await interruptedAt('save-images:middle', stateDir);
    await expectHost(rig!, 'vfs');
    const rolledBack = await cli(rig!, ['rollback', '--yes'], {}, stateDir);
    expect(rolledBack.code, explain(rig!, rolledBack, 'rollback')).toBe(0);
    await expectHost(rig!, 'vfs');
  }, 600_000);
});
