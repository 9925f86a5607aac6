import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  blockDeviceChoices,
  listBlockDevices,
  parseBlkidAll,
  parseLsblkPairsTree,
  parseLsblkTree,
  type BlockDeviceChoice,
} from '../../../src/facts/block-devices.js';
import { parsePvs } from '../../../src/facts/parse.js';
import { FixtureHost } from '../../../src/host/fixture-host.js';

const FIXTURES = path.resolve('test/fixtures/block-devices');
const fixture = (name: string) => readFile(path.join(FIXTURES, name), 'utf8');

/** path → why it is disabled ("" when it can be picked): the part operators see. */
function reasons(choices: readonly BlockDeviceChoice[]): Record<string, string> {
  return Object.fromEntries(choices.map((c) => [c.path, c.disabledReason ?? '']));
}

describe('blockDeviceChoices on a real Debian 12 listing (util-linux 2.38, no udev)', () => {
  const debianExpected = {
    '/dev/loop0': 'in use: /tmp/bdfix-mnt (/dev/loop0p1)',
    '/dev/loop0p1': 'mounted at /tmp/bdfix-mnt',
    '/dev/loop0p2': '',
    '/dev/loop1': '',
    '/dev/loop2': 'holds an ext4 filesystem or signature',
    '/dev/loop3': 'an LVM physical volume of volume group datavg',
    '/dev/loop4': 'read-only',
    '/dev/vda': 'mounted at /',
  };

  it('says why each busy device cannot be used, from lsblk --json with PATH, pvs and blkid', async () => {
    const choices = blockDeviceChoices(
      parseLsblkTree(await fixture('debian12-loops/lsblk.json')),
      parsePvs(await fixture('debian12-loops/pvs.json')),
      {},
      parseBlkidAll(await fixture('debian12-loops/blkid.txt')),
    );
    expect(reasons(choices)).toEqual(debianExpected);
    // zram0 has size 0: not a device anyone can use, so not listed at all.
    expect(choices.map((c) => c.path)).not.toContain('/dev/zram0');
    const free = choices.find((c) => c.path === '/dev/loop0p2')!;
    expect(free).toEqual({ path: '/dev/loop0p2', type: 'part', sizeBytes: 51_200_000, mountPoints: [] });
    expect(choices.find((c) => c.path === '/dev/loop0')!.mountPoints).toEqual(['/tmp/bdfix-mnt']);
    expect(choices.find((c) => c.path === '/dev/loop2')!.fsType).toBe('ext4');
  });

  it('gives the same list from the older formats: --json -p without PATH, and -P pairs', async () => {
    const pvs = parsePvs(await fixture('debian12-loops/pvs.json'));
    const blkid = parseBlkidAll(await fixture('debian12-loops/blkid.txt'));
    const fromJson = blockDeviceChoices(parseLsblkTree(await fixture('debian12-loops/lsblk.json')), pvs, {}, blkid);
    const fromJsonP = blockDeviceChoices(parseLsblkTree(await fixture('debian12-loops/lsblk-p.json')), pvs, {}, blkid);
    const fromPairs = blockDeviceChoices(parseLsblkPairsTree(await fixture('debian12-loops/lsblk-pairs.txt')), pvs, {}, blkid);
    expect(fromJsonP).toEqual(fromJson);
    expect(fromPairs).toEqual(fromJson);
  });

  it('without blkid, a filesystem lsblk cannot see is not guessed (preflight probes the pick)', async () => {
    const choices = blockDeviceChoices(
      parseLsblkTree(await fixture('debian12-loops/lsblk.json')),
      parsePvs(await fixture('debian12-loops/pvs.json')),
    );
    expect(reasons(choices)['/dev/loop2']).toBe('');
  });
});

describe('blockDeviceChoices on a RHEL 7 direct-lvm host (lsblk -P of util-linux 2.23)', () => {
  it('disables the pool device, mounted disks, other PVs, filesystems and read-only disks', async () => {
    const trees = parseLsblkPairsTree(await fixture('rhel7-direct-lvm/lsblk-pairs.txt'));
    const pvs = parsePvs(await fixture('rhel7-direct-lvm/pvs.json'));
    const choices = blockDeviceChoices(trees, pvs, { poolName: 'docker-thinpool', volumeGroup: 'docker' });
    expect(reasons(choices)).toEqual({
      '/dev/sda': 'in use: /boot (/dev/sda1), / (/dev/mapper/centos-root), swap (/dev/mapper/centos-swap)',
      '/dev/sda1': 'mounted at /boot',
      '/dev/sda2': 'in use: / (/dev/mapper/centos-root), swap (/dev/mapper/centos-swap)',
      '/dev/sdb': 'holds the current devicemapper pool docker-thinpool: it is the rollback until finalize',
      '/dev/sdc': '',
      '/dev/sdd': 'holds an xfs filesystem or signature',
      '/dev/sde': 'an LVM physical volume of volume group spare',
      '/dev/sdf': 'read-only',
    });
    expect(choices.find((c) => c.path === '/dev/sda')!.mountPoints).toEqual(['/boot', '/', '[SWAP]']);
    expect(choices.find((c) => c.path === '/dev/sdc')).toEqual({ path: '/dev/sdc', type: 'disk', sizeBytes: 107_374_182_400, mountPoints: [] });
  });

  it('finds the pool through its name alone, and without any hint still refuses the PV', async () => {
    const trees = parseLsblkPairsTree(await fixture('rhel7-direct-lvm/lsblk-pairs.txt'));
    const pvs = parsePvs(await fixture('rhel7-direct-lvm/pvs.json'));
    expect(reasons(blockDeviceChoices(trees, pvs, { poolName: 'docker-thinpool' }))['/dev/sdb']).toMatch(/current devicemapper pool/);
    expect(reasons(blockDeviceChoices(trees, pvs))['/dev/sdb']).toBe('an LVM physical volume of volume group docker');
    // Without pvs (no LVM JSON reports) the LVM signature still keeps it out.
    expect(reasons(blockDeviceChoices(trees))['/dev/sde']).toBe('holds an LVM signature');
  });

  it('without PKNAME, partitions still hang under their disk', async () => {
    const text = (await fixture('rhel7-direct-lvm/lsblk-pairs.txt')).replace(/ (P?KNAME)="[^"]*"/g, '');
    const trees = parseLsblkPairsTree(text);
    expect(trees.map((t) => t.path)).toEqual(['/dev/sda', '/dev/sdb', '/dev/sdc', '/dev/sdd', '/dev/sde', '/dev/sdf', '/dev/sr0']);
    expect(trees[0]!.children.map((c) => c.path)).toContain('/dev/sda1');
    const r = reasons(blockDeviceChoices(trees, parsePvs(await fixture('rhel7-direct-lvm/pvs.json')), { volumeGroup: 'docker' }));
    expect(r['/dev/sdc']).toBe('');
    expect(r['/dev/sdb']).toMatch(/current devicemapper pool/);
  });

  it('makes paths of kernel names when lsblk had no -p', () => {
    const trees = parseLsblkPairsTree(
      'NAME="sdb" KNAME="sdb" PKNAME="" TYPE="disk" SIZE="10" FSTYPE="" MOUNTPOINT="" RO="0"\n' +
        'NAME="vg-lv" KNAME="dm-0" PKNAME="sdb" TYPE="lvm" SIZE="10" FSTYPE="" MOUNTPOINT="/data\\x20x" RO="0"\n',
    );
    expect(trees[0]!.path).toBe('/dev/sdb');
    expect(trees[0]!.children[0]).toMatchObject({ path: '/dev/mapper/vg-lv', mountPoint: '/data x' });
  });
});

describe('blockDeviceChoices on a RHEL 8 loop-lvm host (lsblk --json of util-linux 2.32)', () => {
  it("recognises Docker's loop-lvm pool by its name and reads string values", async () => {
    const choices = blockDeviceChoices(parseLsblkTree(await fixture('rhel8-loop-lvm/lsblk-p.json')));
    expect(reasons(choices)).toEqual({
      '/dev/loop0': 'holds the current devicemapper pool: it is the rollback until finalize',
      '/dev/loop1': 'holds the current devicemapper pool: it is the rollback until finalize',
      '/dev/sda': 'in use: /boot (/dev/sda1), / (/dev/sda2)',
      '/dev/sda1': 'mounted at /boot',
      '/dev/sda2': 'mounted at /',
      '/dev/sdb': '',
      '/dev/nvme0n1': 'holds an ext4 filesystem or signature',
    });
    expect(choices.find((c) => c.path === '/dev/sdb')!.sizeBytes).toBe(53_687_091_200);
  });
});

describe('listBlockDevices through a Host', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'dmm-bd-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('falls back to --json -p when lsblk has no PATH column, and asks pvs', async () => {
    const host = new FixtureHost(dir, {
      commands: [
        {
          command: 'lsblk',
          args: ['--json', '-b', '-o', 'NAME,PATH,TYPE,SIZE,FSTYPE,MOUNTPOINT,RO'],
          exitCode: 1,
          stderr: 'lsblk: unknown column: PATH',
        },
        {
          command: 'lsblk',
          args: ['--json', '-b', '-p', '-o', 'NAME,TYPE,SIZE,FSTYPE,MOUNTPOINT,RO'],
          stdout: await fixture('rhel8-loop-lvm/lsblk-p.json'),
        },
        { command: 'pvs', stdout: '{"report":[{"pv":[{"pv_name":"/dev/sdb","vg_name":"spare","pv_size":"1"}]}]}' },
        { command: 'blkid', stdout: 'DEVNAME=/dev/sdb\nTYPE=LVM2_member\n' },
      ],
    });
    const choices = await listBlockDevices(host);
    expect(reasons(choices)['/dev/sdb']).toBe('an LVM physical volume of volume group spare');
    expect(reasons(choices)['/dev/loop0']).toMatch(/current devicemapper pool/);
  });

  it('asks blkid for filesystems only when lsblk named none (no udev database)', async () => {
    const blkid = await fixture('debian12-loops/blkid.txt');
    const host = (lsblk: string) =>
      new FixtureHost(dir, {
        commands: [
          { command: 'lsblk', args: ['--json', '-b', '-o', 'NAME,PATH,TYPE,SIZE,FSTYPE,MOUNTPOINT,RO'], stdout: lsblk },
          { command: 'blkid', args: ['-o', 'export'], stdout: blkid },
        ],
      });
    const withoutUdev = await listBlockDevices(host(await fixture('debian12-loops/lsblk.json')));
    expect(reasons(withoutUdev)['/dev/loop2']).toBe('holds an ext4 filesystem or signature');
    // lsblk named a filesystem (udev is there): its word stands and blkid is not run.
    const listing = JSON.parse(await fixture('debian12-loops/lsblk.json')) as { blockdevices: { name: string; fstype: string | null }[] };
    listing.blockdevices.find((d) => d.name === 'vda')!.fstype = 'ext4';
    const withUdev = host(JSON.stringify(listing));
    expect(reasons(await listBlockDevices(withUdev))['/dev/loop2']).toBe('');
    expect(withUdev.calls.map((c) => c.command)).not.toContain('blkid');
  });

  it('reads pvs in columns where lvm2 has no JSON (before 2.02.158): the other PV stays refused', async () => {
    const host = new FixtureHost(dir, {
      commands: [
        { command: 'lsblk', args: ['-P', '-b', '-p', '-o', 'NAME,KNAME,PKNAME,TYPE,SIZE,FSTYPE,MOUNTPOINT,RO'], stdout: await fixture('rhel7-direct-lvm/lsblk-pairs.txt') },
        { command: 'lsblk', exitCode: 1, stderr: "lsblk: unrecognized option '--json'" },
        { command: 'pvs', args: ['--reportformat', 'json', '--units', 'b', '--nosuffix', '-o', 'pv_name,vg_name,pv_size'], exitCode: 3, stderr: "pvs: unrecognized option '--reportformat'\n  Error during parsing of command line.\n" },
        { command: 'pvs', args: ['--noheadings', '--separator', '|', '--units', 'b', '--nosuffix', '-o', 'pv_name,vg_name,pv_size'], stdout: await fixture('rhel7-direct-lvm/pvs-columns.txt') },
      ],
    });
    const fromColumns = await listBlockDevices(host);
    expect(reasons(fromColumns)['/dev/sdb']).toBe('an LVM physical volume of volume group docker');
    const trees = parseLsblkPairsTree(await fixture('rhel7-direct-lvm/lsblk-pairs.txt'));
    expect(fromColumns).toEqual(blockDeviceChoices(trees, parsePvs(await fixture('rhel7-direct-lvm/pvs.json'))));
  });

  it('falls back to lsblk -P before util-linux 2.27, and gives [] without lsblk', async () => {
    const pairs = new FixtureHost(dir, {
      commands: [
        { command: 'lsblk', args: ['-P', '-b', '-p', '-o', 'NAME,KNAME,PKNAME,TYPE,SIZE,FSTYPE,MOUNTPOINT,RO'], stdout: await fixture('rhel7-direct-lvm/lsblk-pairs.txt') },
        { command: 'lsblk', exitCode: 1, stderr: "lsblk: unrecognized option '--json'" },
      ],
    });
    expect(reasons(await listBlockDevices(pairs, { volumeGroup: 'docker' }))['/dev/sdc']).toBe('');
    expect(await listBlockDevices(new FixtureHost(dir, {}))).toEqual([]);
  });
});
