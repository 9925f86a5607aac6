// Issue 7, scenario 2: a direct-lvm devicemapper host (the pool built in the guest with Docker's
// documented commands) migrated to overlay2 unattended (scenarios/direct-lvm-to-overlay2.sh).
// Issue 21 in the same boot: the migrated host upgraded to Engine 26.1, rollback refused under
// it, then done once the old engine is back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineState, engineVersion } from './engine-state.js';
import { dockerInfo, outputFile as saved } from './results.js';
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
  logSummary('direct-lvm-to-overlay2', result, ['before', 'after', 'upgraded', 'refused', 'rolled-back'], ['run', 'verify', 'rollback-refused', 'rollback']);
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

  it('issue 21: Engine 26.1 starts on the migrated host with every image, container, volume and network as before', () => {
    expect(stages(result), explain(result, 'run', 'after-run')).toContain('migrated');
    expect(engineVersion(result, 'migrated')).toMatch(/^20\.10\./);
    expect(engineVersion(result, 'upgraded')).toMatch(/^26\.1\./);
    expect(dockerInfo(result, 'upgraded').Driver).toBe('overlay2');
    const before = engineState(result, 'migrated');
    const after = engineState(result, 'upgraded');
    // Not vacuous: the seeded workload is in the dump (5 tags on 2 images, web and job, appnet, appdata's files).
    expect(Object.keys(before.containers)).toEqual(['/job', '/web']);
    expect(Object.keys(before.networks)).toContain('appnet');
    expect(Object.keys(before.volumes)).toContain('appdata');
    expect(before.volumeFiles).toMatch(/appdata\/_data\/payload\.txt f 640 0:0 1614834367/);
    expect(after).toEqual(before);
    expect(failedChecks(result).filter((c) => c.startsWith('upgraded')), explain(result)).toEqual([]);
    expect(stages(result), explain(result)).toContain('upgraded');
  });

  it('issue 21: rollback under Engine 26 refuses with the steps (old engine first) and changes nothing', () => {
    const refused = toolRun(result, 'rollback-refused');
    expect(refused?.rc, explain(result, 'rollback-refused')).toBe(4);
    expect(refused?.stderr).toMatch(/Docker Engine 26\.1\.5\S* is (running|installed)/);
    expect(refused?.stderr).toMatch(/devicemapper/);
    expect(refused?.stderr).toMatch(/1\. .*20\.10\.24/);
    expect(refused?.stderr).toMatch(/2\. .*devmapper-migrate rollback/);
    const info = JSON.parse(saved(result, 'docker-info-refused.json')) as { Driver: string; ServerVersion: string };
    expect(info).toMatchObject({ Driver: 'overlay2', ServerVersion: expect.stringMatching(/^26\.1\./) as unknown });
    expect(stages(result), explain(result, 'rollback-refused')).toContain('refused');
  });

  it('issue 21: with the old engine back, as the refusal says, rollback puts the host back on its pool', () => {
    expect(toolRun(result, 'rollback')?.rc, explain(result, 'rollback', 'after-rollback')).toBe(0);
    const back = dockerInfo(result, 'rolled-back');
    expect(back.Driver).toBe('devicemapper');
    expect(back.status.get('Pool Name')).toBe('docker-thinpool');
    expect(failedChecks(result), explain(result, 'rollback', 'after-rollback')).toEqual([]);
    expect(stages(result), explain(result, 'rollback', 'after-rollback')).toContain('rolled-back');
  });
});
