// Issue 7, scenario 2: a direct-lvm devicemapper host (the pool built in the guest with Docker's
// documented commands) migrated to overlay2 unattended (scenarios/direct-lvm-to-overlay2.sh).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerInfo } from './results.js';
import { explain, failedChecks, logSummary, outputFile, stages, toolRun } from './tool-results.js';
import { bootGuest, killAllGuests, scenarioPath, type GuestResult } from './vm.js';

let result: GuestResult;

beforeAll(async () => {
  result = await bootGuest({
    scenario: scenarioPath('direct-lvm-to-overlay2'),
    disks: [
      { name: 'data', sizeMB: 4096 },
      { name: 'spare', sizeMB: 4096 },
    ],
    timeoutMs: 1_200_000,
  });
  logSummary('direct-lvm-to-overlay2', result, ['before', 'after'], ['run', 'verify']);
}, 1_300_000);

afterAll(killAllGuests);

describe('direct-lvm devicemapper → overlay2 (real device-mapper kernel)', () => {
  it('scenario 2: run --answers --yes migrates the workload off the thin pool to overlay2', () => {
    const before = dockerInfo(result, 'before');
    expect(before.Driver).toBe('devicemapper');
    expect(before.status.get('Pool Name')).toBe('docker-thinpool');
    expect(before.status.has('Data loop file')).toBe(false);

    const run = toolRun(result, 'run');
    expect(run?.rc, explain(result, 'run', 'after-run')).toBe(0);
    const after = dockerInfo(result, 'after');
    expect(after.Driver).toBe('overlay2');
    expect(after.status.get('Backing Filesystem')).toBe('xfs');
    expect(toolRun(result, 'verify')?.rc, explain(result, 'verify', 'after-run')).toBe(0);
    expect(failedChecks(result), explain(result, 'run', 'after-run')).toEqual([]);
    expect(stages(result), explain(result, 'run', 'after-run')).toContain('migrated');
    // Nothing is deleted before finalize: the old pool is still there, and daemon.json names none.
    const facts = outputFile(result, 'facts-after.txt');
    expect(facts).toMatch(/docker\s+thinpool\s+twi/);
    expect(facts.split('# data-root')[0]).not.toMatch(/dm\./);
  });
});
