import { afterAll, describe, expect, it } from 'vitest';
import { describeEntries, dockerInfo, outputFile, preflightReport, savedExitCode } from './results.js';
import { bootGuest, killAllGuests, scenarioPath } from './vm.js';

afterAll(killAllGuests);

describe('loop-lvm devicemapper host (real device-mapper kernel)', () => {
  it('runs Docker on loop-lvm with a workload, and preflight names devicemapper loop-lvm', async () => {
    const result = await bootGuest({
      scenario: scenarioPath('loop-lvm-preflight'),
      disks: [{ name: 'data', sizeMB: 8192 }],
      timeoutMs: 900_000,
    });
    console.log(`loop-lvm-preflight: guest wall time ${(result.wallMs / 1000).toFixed(1)} s`);
    expect(result.exitCode, 'scenario exit code').toBe(0);

    const info = dockerInfo(result, 'before');
    expect(info.Driver).toBe('devicemapper');
    expect(info.status.get('Data loop file')).toBe('/var/lib/docker/devicemapper/devicemapper/data');
    expect(info.status.get('Pool Name')).toMatch(/^docker-.*-pool$/);

    // Blockers may come from the guest (no service manager, small disks); the driver is read right.
    expect([0, 1], outputFile(result, 'preflight.stderr')).toContain(savedExitCode(result, 'preflight'));
    const report = preflightReport(result);
    console.log(`preflight in the guest:\n${describeEntries(report)}`);
    const source = report.entries.find((e) => e.key === 'source-driver');
    expect(source?.details, describeEntries(report)).toMatchObject({ driver: 'devicemapper', mode: 'loop-lvm' });
    expect(report.entries.map((e) => e.key)).toContain('devicemapper-loop-lvm');
    expect(report.entries.map((e) => e.key)).not.toContain('source-driver-unsupported');
  });
});
