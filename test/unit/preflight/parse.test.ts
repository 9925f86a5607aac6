// The parsers behind the facts probes, on output captured from real tools.
import { describe, expect, it } from 'vitest';
import {
  addressServes,
  isLocalAddress,
  mountOf,
  parseBlkidExport,
  parseDockerAddress,
  parseLsblkJson,
  parseLsblkPairs,
  parseLvs,
  parseMounts,
  parsePvs,
} from '../../../src/facts/parse.js';
import { redactSecrets } from '../../../src/facts/redact.js';
import { parseHumanSize, parseVersion, poolState, splitDmName } from '../../../src/preflight/analysis.js';
import { kernelSupportsOverlay2, kernelSupportsOverlaySelinux, parseKernelRelease } from '../../../src/preflight/checks/overlay2.js';
import { daemonFacts } from './helpers.js';

describe('mount table', () => {
  const mounts = parseMounts(
    [
      '/dev/mapper/rhel-root / xfs rw,seclabel,relatime,attr2,inode64,prjquota 0 0',
      '/dev/sdb1 /var/lib/docker ext4 rw,relatime 0 0',
      '/dev/sdc1 /var/lib/docker ext4 rw,relatime 0 0',
      '/dev/sdd1 /mnt/with\\040space xfs rw 0 0',
    ].join('\n'),
  );

  it('decodes escapes and picks the longest, last-mounted match', () => {
    expect(mounts[3]!.mountPoint).toBe('/mnt/with space');
    expect(mounts[0]!.options).toContain('prjquota');
    expect(mountOf(mounts, '/var/lib/docker/volumes')?.device).toBe('/dev/sdc1');
    expect(mountOf(mounts, '/var/lib/dockerx')?.device).toBe('/dev/mapper/rhel-root');
    expect(mountOf([], '/x')).toBeUndefined();
  });
});

describe('LVM and block device reports', () => {
  it('reads lvs/pvs JSON with byte units', () => {
    const lvs = parseLvs(
      '{"report":[{"lv":[{"lv_name":"thinpool","vg_name":"docker","lv_attr":"twi-a-t---","lv_size":"102005473280","pool_lv":"","data_percent":"4.22","metadata_percent":"0.11"}]}]}',
    );
    expect(lvs).toEqual([{ lvName: 'thinpool', vgName: 'docker', attr: 'twi-a-t---', sizeBytes: 102005473280, poolLv: undefined, dataPercent: 4.22, metadataPercent: 0.11 }]);
    expect(parsePvs('{"report":[{"pv":[{"pv_name":"/dev/sdb","vg_name":"","pv_size":"10737418240B"}]}]}')).toEqual([
      { pvName: '/dev/sdb', vgName: '', sizeBytes: 10737418240 },
    ]);
    expect(() => parseLvs('  WARNING: not json')).toThrow();
  });

  it('reads lsblk JSON (numbers or strings) and the old pairs format', () => {
    const tree = parseLsblkJson(
      '{"blockdevices":[{"name":"/dev/sdd","type":"disk","size":"53687091200","fstype":null,"mountpoint":null,"children":[{"name":"/dev/sdd1","type":"part","size":1000,"fstype":"ext4","mountpoint":"/srv"}]}]}',
    );
    expect(tree).toEqual({
      name: '/dev/sdd',
      type: 'disk',
      sizeBytes: 53687091200,
      fsType: undefined,
      mountPoint: undefined,
      children: [{ name: '/dev/sdd1', type: 'part', sizeBytes: 1000, fsType: 'ext4', mountPoint: '/srv', children: [] }],
    });
    const pairs = parseLsblkPairs('NAME="/dev/sdd" TYPE="disk" SIZE="2000" FSTYPE="" MOUNTPOINT=""\nNAME="/dev/sdd1" TYPE="part" SIZE="1000" FSTYPE="xfs" MOUNTPOINT="/data"\n');
    expect(pairs?.children.map((c) => c.mountPoint)).toEqual(['/data']);
  });

  it('reads blkid -p signatures', () => {
    expect(parseBlkidExport('DEVNAME=/dev/sdb\nUUID=x\nTYPE=LVM2_member\nUSAGE=raid\n')).toEqual([{ type: 'LVM2_member', usage: 'raid' }]);
    expect(parseBlkidExport('PTUUID=7d9a\nPTTYPE=gpt\n')).toEqual([{ type: 'gpt', usage: 'partition table' }]);
    expect(parseBlkidExport('')).toEqual([]);
  });
});

describe('Docker addresses', () => {
  it('normalises sockets and matches daemons to clients', () => {
    expect(parseDockerAddress('unix:///var/run/docker.sock')).toEqual({ kind: 'unix', path: '/run/docker.sock' });
    expect(parseDockerAddress('tcp://127.0.0.1')).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 2375 });
    expect(parseDockerAddress('https://[::1]:2376')).toEqual({ kind: 'tcp', host: '::1', port: 2376 });
    expect(parseDockerAddress('fd://')).toEqual({ kind: 'fd' });
    expect(parseDockerAddress('ssh://admin@host').kind).toBe('other');
    const serves = (listen: string, target: string) => addressServes(parseDockerAddress(listen), parseDockerAddress(target));
    expect(serves('unix:///run/docker.sock', 'unix:///var/run/docker.sock')).toBe(true);
    expect(serves('unix:///run/a.sock', 'unix:///run/b.sock')).toBe(false);
    expect(serves('tcp://0.0.0.0:2375', 'tcp://127.0.0.1:2375')).toBe(true);
    expect(serves('tcp://0.0.0.0:2376', 'tcp://127.0.0.1:2375')).toBe(false);
    expect(isLocalAddress(parseDockerAddress('tcp://10.0.0.5:2375'))).toBe(false);
    expect(isLocalAddress(parseDockerAddress('tcp://localhost:2375'))).toBe(true);
  });
});

describe('values from docker info', () => {
  it('reads sizes as docker prints them', () => {
    expect(parseHumanSize('11.8 MB')).toBe(11_800_000);
    expect(parseHumanSize('10.74GB')).toBe(10_740_000_000);
    expect(parseHumanSize('2 GiB')).toBe(2 * 2 ** 30);
    expect(parseHumanSize('524.3 kB')).toBe(524_300);
    expect(parseHumanSize('0 B')).toBe(0);
    expect(parseHumanSize('')).toBeUndefined();
    expect(parseHumanSize('lots')).toBeUndefined();
  });

  it('reads versions of every era', () => {
    expect(parseVersion('1.13.1')).toMatchObject({ major: 1, minor: 13 });
    expect(parseVersion('17.03.2-ce')).toMatchObject({ major: 17, minor: 3, raw: '17.03.2-ce' });
    expect(parseVersion('Docker version 25.0.3, build 4debf41')).toMatchObject({ major: 25, raw: '25.0.3' });
    expect(parseVersion('dev')).toBeUndefined();
  });

  it('tells loop-lvm from direct-lvm and splits device-mapper names', () => {
    expect(poolState(daemonFacts()).mode).toBe('direct-lvm');
    expect(poolState(daemonFacts({ driverStatus: [['Data loop file', '/var/lib/docker/devicemapper/devicemapper/data']] })).mode).toBe('loop-lvm');
    expect(splitDmName('docker--vg-docker--pool')).toEqual({ vg: 'docker-vg', lv: 'docker-pool' });
    expect(splitDmName('docker-thinpool')).toEqual({ vg: 'docker', lv: 'thinpool' });
    expect(splitDmName('docker-8:1-1048577-pool')).toBeUndefined();
  });

  it('knows which kernels carry overlay2 and its SELinux support', () => {
    const k = (r: string) => parseKernelRelease(r)!;
    expect(kernelSupportsOverlay2(k('3.10.0-327.el7.x86_64'))).toBe(false);
    expect(kernelSupportsOverlay2(k('3.10.0-514.el7.x86_64'))).toBe(true);
    expect(kernelSupportsOverlay2(k('3.13.0-170-generic'))).toBe(false);
    expect(kernelSupportsOverlay2(k('4.4.0-210-generic'))).toBe(true);
    expect(kernelSupportsOverlaySelinux(k('3.10.0-514.el7.x86_64'))).toBe(false);
    expect(kernelSupportsOverlaySelinux(k('3.10.0-693.el7.x86_64'))).toBe(true);
    expect(kernelSupportsOverlaySelinux(k('4.18.0-513.el8.x86_64'))).toBe(true);
  });
});

describe('redaction', () => {
  it('masks URL passwords and secret-looking variables, and keeps the rest', () => {
    expect(redactSecrets('Environment="HTTP_PROXY=http://deploy:s3cret@proxy:3128" "NO_PROXY=localhost"')).toBe(
      'Environment="HTTP_PROXY=http://deploy:***@proxy:3128" "NO_PROXY=localhost"',
    );
    expect(redactSecrets('REGISTRY_PASSWORD="hunter2"\nOPTIONS=--debug\nAPI_TOKEN=abc')).toBe('REGISTRY_PASSWORD=***\nOPTIONS=--debug\nAPI_TOKEN=***');
    expect(redactSecrets('--storage-opt dm.thinpooldev=/dev/mapper/x')).toBe('--storage-opt dm.thinpooldev=/dev/mapper/x');
  });
});
