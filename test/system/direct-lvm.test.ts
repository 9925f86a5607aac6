import { afterAll, describe, expect, it } from 'vitest';
import { describeEntries, dockerInfo, outputFile, preflightReport, savedExitCode } from './results.js';
import { bootGuest, killAllGuests, scenarioPath } from './vm.js';

afterAll(killAllGuests);

describe('direct-lvm devicemapper host (real device-mapper kernel)', () => {
  it("runs Docker on a thin pool built with Docker's documented commands", async () => {
    const result = await bootGuest({
      scenario: scenarioPath('direct-lvm'),
      disks: [
        { name: 'data', sizeMB: 2048 },
        { name: 'spare', sizeMB: 4096 },
      ],
      timeoutMs: 900_000,
    });
    console.log(`direct-lvm: guest wall time ${(result.wallMs / 1000).toFixed(1)} s`);
    expect(result.exitCode, 'scenario exit code').toBe(0);

    const info = dockerInfo(result, 'before');
    expect(info.Driver).toBe('devicemapper');
    expect(info.status.get('Pool Name')).toBe('docker-thinpool');
    expect(info.status.has('Data loop file')).toBe(false);
    expect(outputFile(result, 'lvs.txt')).toMatch(/docker\s+thinpool\s+twi-aot/);

    expect([0, 1], outputFile(result, 'preflight.stderr')).toContain(savedExitCode(result, 'preflight'));
    const report = preflightReport(result);
    console.log(`preflight in the guest:\n${describeEntries(report)}`);
    const source = report.entries.find((e) => e.key === 'source-driver');
    expect(source?.details, describeEntries(report)).toMatchObject({ driver: 'devicemapper', mode: 'direct-lvm' });
  });
});
