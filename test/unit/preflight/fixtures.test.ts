// Facts gathered from fixture trees through a FixtureHost, then judged: the whole read-only
// path of preflight except the Docker API, on hosts shaped like the ones operators run.
import { describe, expect, it } from 'vitest';
import { preflightChecks } from '../../../src/preflight/index.js';
import { find, findings, fixtureFacts, GB, image, keys } from './helpers.js';

describe('RHEL 7 host set up by docker-storage-setup (direct-lvm)', () => {
  it('gathers the unit, sysconfig files, the dockerd-current process and the LVM state', async () => {
    const facts = await fixtureFacts('rhel7-storage-setup');
    const host = facts.host;
    expect(host.systemd.service.map((f) => f.path)).toEqual(['/usr/lib/systemd/system/docker.service']);
    expect(host.systemd.storageSetupUnits).toEqual(['/usr/lib/systemd/system/docker-storage-setup.service']);
    expect(host.environmentFiles.map((f) => [f.path, f.text !== undefined])).toEqual([
      ['/etc/sysconfig/docker', true],
      ['/etc/sysconfig/docker-storage', true],
      ['/etc/sysconfig/docker-storage-setup', true],
      ['/etc/sysconfig/docker-network', true],
      ['/etc/default/docker', false],
      ['/run/containers/registries.conf', false],
    ]);
    expect(host.dockerd).toMatchObject({ pid: 1187, matchedBy: 'default-socket', systemdUnit: 'docker.service' });
    expect(host.dockerd?.argv[0]).toBe('/usr/bin/dockerd-current');
    expect(host.dockerdCandidates.map((c) => c.pid)).toEqual([1187]);
    expect(host.installedDockerd).toEqual({ path: '/usr/bin/dockerd-current', versionOutput: 'Docker version 1.13.1, build 7d71120/1.13.1' });
    expect(host.kernel).toMatchObject({ release: '3.10.0-1160.el7.x86_64', overlayAvailable: true });
    expect(host.dataRoot).toMatchObject({
      path: '/var/lib/docker',
      exists: true,
      fsType: 'xfs',
      mount: { device: '/dev/mapper/rhel-root', mountPoint: '/' },
      dType: { supported: true, method: 'xfs_info', xfsFtype: 1 },
      driverDirs: ['devicemapper'],
    });
    expect(host.dataRoot.space?.availableBytes).toBe(11 * GB);
    expect(host.backupDirectory).toMatchObject({ exists: false, resolvedPath: '/var/lib', fsType: 'xfs' });
    expect(host.lvm.pvs).toEqual([
      { pvName: '/dev/sda2', vgName: 'rhel', sizeBytes: 20396900352 },
      { pvName: '/dev/sdb', vgName: 'docker-vg', sizeBytes: 21470642176 },
    ]);
    expect(host.lvm.lvs?.find((lv) => lv.lvName === 'docker-pool')).toMatchObject({ vgName: 'docker-vg', dataPercent: 5.88 });
    expect(Object.values(host.lvm.tools).every((t) => t !== null)).toBe(true);
    expect(host.problems).toEqual([]);
    expect(() => JSON.parse(JSON.stringify(facts))).not.toThrow();
  });

  it('warns about DOCKER_STORAGE_OPTIONS and docker-storage-setup, and nothing blocks overlay2', async () => {
    const entries = preflightChecks(await fixtureFacts('rhel7-storage-setup'));
    expect(findings(entries)).toEqual([
      'warning:storage-flag-conflict',
      'warning:docker-storage-setup-active',
      'warning:engine-runtime-docker-runc-flags',
      'warning:engine-no-packages-el7',
    ]);
    const conflict = find(entries, 'storage-flag-conflict')!;
    expect(conflict.summary).toContain('/etc/sysconfig/docker-storage:4 (DOCKER_STORAGE_OPTIONS)');
    expect(conflict.summary).toContain('--storage-driver=devicemapper');
    expect(conflict.summary).toContain('unknown option dm.fs');
    expect(conflict.details).toMatchObject({ active: true, variable: 'DOCKER_STORAGE_OPTIONS' });
    expect(find(entries, 'source-driver')!.title).toBe('Storage driver: devicemapper, direct-lvm');
  });

  it('checks a free disk for a new direct-lvm pool and finds it usable', async () => {
    const facts = await fixtureFacts('rhel7-storage-setup', { targetDevice: '/dev/sdc' });
    expect(facts.host.targetDevice).toMatchObject({
      path: '/dev/sdc',
      exists: true,
      isBlockDevice: true,
      mountedAt: [],
      signatures: [],
      lsblk: { name: '/dev/sdc', type: 'disk', sizeBytes: 53687091200 },
    });
    const entries = preflightChecks(facts, { target: 'direct-lvm', device: '/dev/sdc' });
    expect(findings(entries).filter((f) => f.includes('target-device') || f.includes('lvm'))).toEqual([]);
  });

  it("refuses the current pool's own disk", async () => {
    const facts = await fixtureFacts('rhel7-storage-setup', { targetDevice: '/dev/sdb' });
    const entries = preflightChecks(facts, { target: 'direct-lvm', device: '/dev/sdb', wipeSignatures: true });
    expect(find(entries, 'target-device-in-current-pool')?.summary).toContain('docker-vg');
    expect(find(entries, 'target-device-has-signature')?.summary).toContain('LVM2_member');
  });

  it('refuses a disk with a mounted partition and a partition table', async () => {
    const facts = await fixtureFacts('rhel7-storage-setup', { targetDevice: '/dev/sdd' });
    expect(facts.host.targetDevice?.mountedAt).toEqual(['/srv/data']);
    const entries = preflightChecks(facts, { target: 'direct-lvm', device: '/dev/sdd' });
    expect(keys(entries)).toEqual(expect.arrayContaining(['target-device-mounted', 'target-device-has-signature']));
    expect(find(entries, 'target-device-has-signature')?.severity).toBe('blocker');
  });

  it('says a device that is not there is not there', async () => {
    const facts = await fixtureFacts('rhel7-storage-setup', { targetDevice: '/dev/sdz' });
    expect(facts.host.targetDevice).toMatchObject({ exists: false });
    expect(keys(preflightChecks(facts, { target: 'direct-lvm', device: '/dev/sdz' }))).toContain('target-device-not-found');
  });
});

describe('Ubuntu host with a systemd drop-in passing --storage-driver (loop-lvm)', () => {
  it('finds the drop-in, matches the socket-activated dockerd among two, masks the proxy password', async () => {
    const facts = await fixtureFacts('dropin-storage-driver');
    const host = facts.host;
    expect(host.systemd.service.map((f) => [f.path, f.kind])).toEqual([
      ['/lib/systemd/system/docker.service', 'unit'],
      ['/etc/systemd/system/docker.service.d/http-proxy.conf', 'drop-in'],
      ['/etc/systemd/system/docker.service.d/storage.conf', 'drop-in'],
    ]);
    expect(host.systemd.socket.map((f) => f.path)).toEqual(['/lib/systemd/system/docker.socket']);
    expect(host.dockerdCandidates.map((c) => c.pid)).toEqual([911, 2750]);
    expect(host.dockerd).toMatchObject({ pid: 911, matchedBy: 'socket-activation', systemdUnit: 'docker.service' });
    const json = JSON.stringify(facts);
    expect(json).not.toContain('s3cret');
    expect(json).toContain('http://deploy:***@proxy.example.com:3128');
    expect(host.dataRoot.dType).toMatchObject({ supported: true, method: 'tune2fs' });
    expect(host.dataRoot.driverDirs).toEqual(['devicemapper']);
    expect(host.lvm.tools.lvs).toBeNull();
    expect(host.lvm.lvs).toBeUndefined();
  });

  it('says what a refused tune2fs means, not its raw error (which read like a failure of preflight)', async () => {
    const refused = { command: 'tune2fs', args: ['-l', '/dev/sda1'], exitCode: 1, stderr: 'tune2fs 1.44.1 (24-Mar-2018)\ntune2fs: Operation not permitted while trying to open /dev/sda1\nCouldn\'t find valid filesystem superblock.\n' };
    const facts = await fixtureFacts('dropin-storage-driver', {}, { commands: [refused] });
    expect(facts.host.dataRoot.dType).toEqual({
      supported: true,
      method: 'filesystem-type',
      evidence: 'ext4 has d_type unless it was created without the filetype feature (not confirmed: tune2fs could not read /dev/sda1: operation not permitted)',
    });
  });

  it('matches the other daemon when asked for its socket', async () => {
    const facts = await fixtureFacts('dropin-storage-driver', { dockerHost: 'unix:///run/ci/docker.sock' });
    expect(facts.host.dockerd).toMatchObject({ pid: 2750, matchedBy: 'host-flag', systemdUnit: 'ci-runner.service' });
  });

  it('reports the drop-in flag, loop-lvm, and the pool below its minimum free space', async () => {
    const entries = preflightChecks(await fixtureFacts('dropin-storage-driver'));
    expect(findings(entries)).toEqual([
      'blocker:thin-pool-space-low',
      'warning:devicemapper-loop-lvm',
      'warning:storage-flag-conflict',
    ]);
    expect(find(entries, 'storage-flag-conflict')!.summary).toContain('/etc/systemd/system/docker.service.d/storage.conf:3');
    expect(find(entries, 'thin-pool-space-low')!.summary).toContain('data: 9.0 GB free of 107 GB, minimum 11 GB');
  });
});

describe('CentOS 7 host with xfs formatted ftype=0 and a commented daemon.json', () => {
  it('reads ftype=0 from xfs_info and blocks overlay2; names the daemon.json line', async () => {
    const facts = await fixtureFacts('xfs-ftype0');
    expect(facts.host.dataRoot.dType).toMatchObject({ supported: false, xfsFtype: 0, method: 'xfs_info' });
    expect(facts.host.kernel.overlayAvailable).toBe(true);
    const entries = preflightChecks(facts);
    expect(findings(entries)).toEqual([
      'blocker:daemon-json-invalid',
      'blocker:data-root-no-dtype',
      'warning:devicemapper-loop-lvm',
      'warning:storage-driver-not-explicit',
      // docker-ce 17.03 on 3.10: the run adds overlay2.override_kernel_check=true.
      'warning:overlay2-kernel-check-override',
      'warning:engine-no-packages-el7',
    ]);
    expect(find(entries, 'daemon-json-invalid')!.summary).toContain('line 2, column 3: comments are not allowed in JSON');
  });

  it('warns when xfs_info cannot tell', async () => {
    const facts = await fixtureFacts('xfs-ftype0', {}, { commands: [{ command: 'xfs_info', args: ['/'], exitCode: 1, stderr: 'xfs_info: / is not a mounted XFS filesystem' }] });
    expect(facts.host.dataRoot.dType.supported).toBeUndefined();
    expect(keys(preflightChecks(facts))).toContain('data-root-dtype-unknown');
  });
});

describe('clean RHEL 8 host ready for overlay2', () => {
  it('has no warnings and no blockers, and shows its estimates', async () => {
    const facts = await fixtureFacts('overlay2-ready', {}, {}, { images: [image({ size: 3 * GB })] });
    expect(facts.host.dockerd).toMatchObject({ pid: 1500, matchedBy: 'socket-activation' });
    expect(facts.host.dataRoot).toMatchObject({ mount: { mountPoint: '/var/lib/docker', device: '/dev/mapper/data-docker' }, dType: { supported: true } });
    expect(facts.host.backupDirectory).toMatchObject({ exists: true, mount: { mountPoint: '/' } });
    const entries = preflightChecks(facts);
    expect(findings(entries)).toEqual([]);
    expect(keys(entries)).toEqual(['source-driver', 'docker-version', 'data-root-filesystem', 'space-estimate', 'engine-target', 'downtime-estimate']);
    expect(find(entries, 'space-estimate')!.summary).toContain('images 3.0 GB');
  });

  it('does not find a dockerd for a socket nothing listens on', async () => {
    const facts = await fixtureFacts('overlay2-ready', { dockerHost: 'unix:///tmp/other.sock' });
    expect(facts.host.dockerd).toBeUndefined();
    expect(keys(preflightChecks(facts))).toContain('dockerd-process-not-found');
  });
});

describe('space on separate filesystems', () => {
  it('does not add archives and data-root together when they live on different filesystems', async () => {
    const facts = await fixtureFacts('overlay2-ready', {}, {}, { images: [image({ size: 30 * GB })] });
    // / has 35 GB free for 30 GB of archives; /var/lib/docker has 80 GB for the new data-root.
    const space = find(preflightChecks(facts), 'space-estimate')!;
    expect(space.details?.sameFilesystem).toBe(false);
    expect(keys(preflightChecks(facts))).not.toContain('backup-space-insufficient');
    const tight = await fixtureFacts('overlay2-ready', {}, {}, { images: [image({ size: 40 * GB })] });
    expect(find(preflightChecks(tight), 'backup-space-insufficient')?.summary).toContain('35 GB free');
  });
});
