// Issue 7, scenarios 1 and 5 in one guest: a loop-lvm devicemapper host with a realistic
// workload is migrated to overlay2 unattended, then rolled back (scenarios/loop-lvm-to-overlay2.sh).
// Issue 21 (rescue) in the same boot: the rolled-back host's engine swapped for Engine 26.1, which
// refuses devicemapper, and `run` with source.dockerd (Debian's 20.10 dockerd) ends on 26.1.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineState, engineVersion, recreatedState } from './engine-state.js';
import { dockerInfo, outputFile } from './results.js';
import { explain, failedChecks, logSummary, stages, toolRun } from './tool-results.js';
import { bootGuest, killAllGuests, scenarioPath, type GuestResult } from './vm.js';

const LOOP_FILE = '/var/lib/docker/devicemapper/devicemapper/data';
let result: GuestResult;

beforeAll(async () => {
  result = await bootGuest({
    scenario: scenarioPath('loop-lvm-to-overlay2'),
    disks: [{ name: 'data', sizeMB: 8192 }],
    timeoutMs: 2_400_000,
  });
  logSummary('loop-lvm-to-overlay2', result, ['before', 'after', 'rolled-back', 'rescued'], ['run', 'verify', 'rollback', 'rescue']);
}, 2_500_000);

afterAll(killAllGuests);

describe('loop-lvm devicemapper → overlay2, then rollback (real device-mapper kernel)', () => {
  it('scenario 1: run --answers --yes migrates the workload to overlay2; verify is clean', () => {
    const before = dockerInfo(result, 'before');
    expect(before.Driver).toBe('devicemapper');
    expect(before.status.get('Data loop file')).toBe(LOOP_FILE);

    const run = toolRun(result, 'run');
    expect(run?.rc, explain(result, 'run', 'after-run')).toBe(0);
    expect(run?.stdout, explain(result, 'run')).toMatch(/overlay2/);
    const after = dockerInfo(result, 'after');
    expect(after.Driver).toBe('overlay2');
    expect(after.status.get('Backing Filesystem')).toBe('xfs');
    expect(after.status.get('Supports d_type')).toBe('true');
    expect(toolRun(result, 'verify')?.rc, explain(result, 'verify', 'after-run')).toBe(0);
    // "migrated": the scenario checked in the guest that web runs with its static IP, port,
    // volume files (content, mode, owner, mtime, symlink) and writable-layer edits, that job
    // is stopped with its file, and that every image tag is there.
    expect(failedChecks(result).filter((f) => f.startsWith('migrated:')), explain(result, 'run', 'after-run')).toEqual([]);
    expect(stages(result), explain(result, 'run', 'after-run')).toContain('migrated');
  });

  it('scenario 5: rollback returns to devicemapper with the original inventory and keeps later volume writes', () => {
    const rollback = toolRun(result, 'rollback');
    expect(rollback?.rc, explain(result, 'rollback', 'after-rollback')).toBe(0);
    expect(rollback?.stderr, explain(result, 'rollback', 'after-rollback')).toMatch(/matches its original inventory/);
    const back = dockerInfo(result, 'rolled-back');
    expect(back.Driver).toBe('devicemapper');
    expect(back.status.get('Data loop file')).toBe(LOOP_FILE);
    // "rolled-back": in the guest, the files written to the volume on overlay2 were read back on
    // devicemapper, and the whole workload checked again.
    expect(failedChecks(result).filter((f) => f.startsWith('rolled-back:')), explain(result, 'rollback', 'after-rollback')).toEqual([]);
    expect(stages(result), explain(result, 'rollback', 'after-rollback')).toContain('rolled-back');
  });

  it('issue 21, rescue: Engine 26.1 refuses the devicemapper data; run with source.dockerd ends on 26.1 with everything in place', () => {
    expect(stages(result), explain(result, 'rollback', 'after-rollback')).toContain('rolled-back');
    // The premise: the swapped-in engine refuses to start on the host as it is.
    expect(outputFile(result, 'refused-26.txt')).toMatch(/devicemapper storage-driver has been deprecated and removed/);
    const rescue = toolRun(result, 'rescue');
    const report = result.files['run-after-rescue/report.txt'] ?? '(no report.txt)';
    expect(rescue?.rc, `${explain(result, 'rescue', 'after-rescue')}\n--- report.txt\n${report}`).toBe(0);
    // Preflight judged the installed engine's process and files, not the side daemon's own config file.
    expect(rescue?.stderr).not.toContain('daemon-config-path-mismatch');
    expect(rescue?.stdout, explain(result, 'rescue')).toMatch(/Rescue mode: the steps up to stop-daemon talk to the legacy dockerd \/var\/tmp\/legacy\/dockerd \(20\.10\./);
    expect(rescue?.stdout, explain(result, 'rescue')).toMatch(/Stop the legacy dockerd 20\.10\.\S+ \[stop-daemon\]/);
    expect(engineVersion(result, 'before-rescue')).toMatch(/^20\.10\./);
    expect(engineVersion(result, 'rescued')).toMatch(/^26\.1\./);
    const rescued = dockerInfo(result, 'rescued');
    expect(rescued.Driver).toBe('overlay2');
    const before = recreatedState(result, 'before-rescue');
    // Not vacuous: the seeded workload is in the dump (web and job, appnet, appdata's files).
    expect(Object.keys(engineState(result, 'before-rescue').containers)).toEqual(['/job', '/web']);
    expect(Object.keys(before.networks)).toContain('appnet');
    expect(before.volumeFiles).toMatch(/appdata\/_data\/payload\.txt f 640 0:0 1614834367/);
    expect(recreatedState(result, 'rescued')).toEqual(before);
    // web (unless-stopped) runs again, job stays stopped, files and ports as before; nothing of the side daemon is left.
    expect(failedChecks(result).filter((f) => f.startsWith('rescued:')), explain(result, 'rescue', 'after-rescue')).toEqual([]);
    expect(stages(result), explain(result, 'rescue', 'after-rescue')).toContain('rescued');
  });
});
