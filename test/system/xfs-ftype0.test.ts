import { afterAll, describe, expect, it } from 'vitest';
import { describeEntries, dockerInfo, outputFile, preflightReport, savedExitCode } from './results.js';
import { bootGuest, killAllGuests, scenarioPath } from './vm.js';

afterAll(killAllGuests);

describe('data-root on xfs ftype=0 (issue 7, scenario 6)', () => {
  it('preflight exits 1 with the d_type blocker and changes nothing', async () => {
    const result = await bootGuest({
      scenario: scenarioPath('xfs-ftype0-preflight'),
      disks: [{ name: 'data', sizeMB: 8192 }],
      timeoutMs: 900_000,
    });
    console.log(`xfs-ftype0-preflight: guest wall time ${(result.wallMs / 1000).toFixed(1)} s`);
    // The scenario itself fails when the host's snapshot differs after preflight.
    expect(result.exitCode, 'scenario exit code').toBe(0);
    expect(dockerInfo(result, 'before').Driver).toBe('devicemapper');
    expect(outputFile(result, 'snapshot-after.txt')).toBe(outputFile(result, 'snapshot-before.txt'));
    expect(outputFile(result, 'snapshot-after.txt')).toMatch(/# driver\ndevicemapper\n/);

    const report = preflightReport(result);
    console.log(`preflight in the guest:\n${describeEntries(report)}`);
    expect(savedExitCode(result, 'preflight'), outputFile(result, 'preflight.stderr')).toBe(1);
    const dType = report.entries.find((e) => e.key === 'data-root-no-dtype');
    expect(dType?.severity, describeEntries(report)).toBe('blocker');
    expect(dType?.title).toMatch(/ftype=0/);
  });
});
