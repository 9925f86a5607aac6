import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { bootGuest, killAllGuests, runningGuests, scenarioPath } from './vm.js';

afterAll(killAllGuests);

describe('the system-test harness itself', () => {
  it('boots a guest with the kit, passes env and disks in, and brings exit code and files out', async () => {
    const result = await bootGuest({
      scenario: scenarioPath('harness-probe'),
      disks: [{ name: 'scratch', sizeMB: 64 }],
      env: { DMM_PROBE_EXTRA: "it's passed" },
      timeoutMs: 300_000,
    });
    expect(result.exitCode).toBe(3);
    const probe = result.files['probe.txt'] ?? '';
    expect(probe).toMatch(/^kernel=\d+\.\d+\.\d+-\d+-amd64$/m);
    expect(probe).toMatch(/^scratch=block device \/dev\/vd[a-z]$/m);
    expect(probe).toContain(`scratch_size=${64 * 1024 * 1024}\n`);
    expect(probe).toContain('modules=bridge dm_thin_pool loop overlay veth xfs \n');
    expect(probe).toContain('cgroup_memory=1\n');
    expect(probe).toMatch(/^lo=(unknown|up)$/m);
    expect(probe).toContain('lvm_udev_sync=udev_sync=0\n');
    expect(probe).toContain('root_readonly_lower=overlay-writable\n');
    expect(probe).toContain('project=visible\n');
    expect(probe).toContain(`node=${process.version}\n`);
    expect(probe).toContain("extra=it's passed\n");
    expect(result.files['sub/file.txt']).toBe('nested\n');
    expect(result.console).toContain('==> [');
    expect(runningGuests()).toBe(0);
    // The guest wrote into its overlay, never into this machine's root.
    expect(existsSync('/usr/.dmm-probe')).toBe(false);
  });

  it('kills a guest that outlives its timeout and removes its disks', async () => {
    await expect(
      bootGuest({
        scenario: scenarioPath('harness-probe'),
        disks: [{ name: 'scratch', sizeMB: 64 }],
        label: 'harness-timeout',
        timeoutMs: 3_000,
        log: () => undefined,
      }),
    ).rejects.toThrow(/timed out after 3000 ms/);
    expect(runningGuests()).toBe(0);
    expect(readdirSync(tmpdir()).filter((name) => name.startsWith('dmm-guest-harness-timeout-'))).toEqual([]);
  });
});
