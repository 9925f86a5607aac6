import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FS_MAGIC, fsTypeName } from '../../../src/host/fs-magic.js';
import { FixtureHost } from '../../../src/host/fixture-host.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'dmm-fixture-'));
  await mkdir(path.join(dir, 'root/etc'), { recursive: true });
  await mkdir(path.join(dir, 'root/var/lib/docker'), { recursive: true });
  await writeFile(path.join(dir, 'root/etc/hostname'), 'rhel7\n');
  await writeFile(
    path.join(dir, 'host.json'),
    JSON.stringify({
      executables: ['pvcreate'],
      commands: [
        { command: 'xfs_info', args: ['/'], stdout: 'ftype=1' },
        { command: 'xfs_info', stdout: 'any' },
        { command: 'lvs', exitCode: 5, stderr: 'permission denied' },
      ],
      filesystems: [
        { mountPoint: '/', type: 'xfs', totalBytes: 100, availableBytes: 40 },
        { mountPoint: '/var/lib/docker', type: 'ext4', totalBytes: 1000, availableBytes: 900, freeBytes: 950 },
      ],
      blockDevices: ['/dev/sdc'],
    }),
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('FixtureHost', () => {
  it('reads the tree, answers canned commands exactly before wildcards, and 127 for unknown ones', async () => {
    const host = await FixtureHost.load(dir);
    expect(await host.readFile('/etc/hostname')).toBe('rhel7\n');
    expect((await host.run('xfs_info', ['/'])).stdout).toBe('ftype=1');
    expect((await host.run('/usr/sbin/xfs_info', ['/boot'])).stdout).toBe('any');
    expect(await host.run('lvs', ['-a'])).toMatchObject({ exitCode: 5, stderr: 'permission denied' });
    expect((await host.run('pvcreate', ['/dev/sdc'])).exitCode).toBe(1);
    expect((await host.run('wipefs', ['-a'])).exitCode).toBe(127);
    expect(await host.which('pvcreate')).toBe('/usr/sbin/pvcreate');
    expect(await host.which('wipefs')).toBeUndefined();
    expect(host.calls.map((c) => c.command)).toEqual(['xfs_info', '/usr/sbin/xfs_info', 'lvs', 'pvcreate', 'wipefs']);
  });

  it('answers statfs from the longest matching mount point', async () => {
    const host = await FixtureHost.load(dir);
    expect(await host.statfs('/var/lib/docker')).toEqual({ type: FS_MAGIC.ext4, blockSize: 4096, totalBytes: 1000, availableBytes: 900, freeBytes: 950 });
    expect((await host.statfs('/etc'))?.type).toBe(FS_MAGIC.xfs);
    expect(await host.statfs('/nope')).toBeUndefined();
  });

  it('makes listed paths block devices', async () => {
    const host = await FixtureHost.load(dir);
    expect(await host.stat('/dev/sdc')).toMatchObject({ kind: 'other', mode: 0o060660 });
    expect(await host.realpath('/dev/sdc')).toBe('/dev/sdc');
    expect(await host.stat('/dev/sdd')).toBeUndefined();
  });

  it('names filesystem magic numbers', () => {
    expect(fsTypeName(0x58465342)).toBe('xfs');
    expect(fsTypeName(0x1234)).toBe('0x1234');
  });
});
