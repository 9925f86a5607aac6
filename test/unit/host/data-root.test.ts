import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  archiveDataRoot,
  carryPlan,
  carryPlanFor,
  carryVolumes,
  carryVolumesBack,
  keepDataRoot,
  keptDataRootFrom,
  planKeepDataRoot,
  restoreDataRoot,
  volumesPaths,
} from '../../../src/host/data-root.js';
import { OperatorError } from '../../../src/errors.js';
import { FixtureHost } from '../../../src/host/fixture-host.js';
import { NodeHost } from '../../../src/host/node-host.js';

// A real tree under a temporary root, through the real Host: renames, inodes and tar are real.
let root: string;
let host: NodeHost;
const real = (hostPath: string) => join(root, hostPath);
const ino = (hostPath: string) => statSync(real(hostPath)).ino;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'dmm-data-root-'));
  host = new NodeHost(root);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** A devicemapper data-root as loop-lvm leaves it: a 10 GiB sparse data file, metadata, a volume. */
function makeDataRoot(dataRoot = '/var/lib/docker'): void {
  const dir = real(dataRoot);
  mkdirSync(join(dir, 'devicemapper/devicemapper'), { recursive: true });
  const data = join(dir, 'devicemapper/devicemapper/data');
  writeFileSync(data, '');
  truncateSync(data, 10 * 1024 ** 3);
  // Some written blocks in the middle, as a real pool has.
  const fd = openSync(data, 'r+');
  writeSync(fd, Buffer.alloc(1024 * 1024, 7), 0, 1024 * 1024, 5 * 1024 ** 3);
  closeSync(fd);
  mkdirSync(join(dir, 'devicemapper/metadata'), { recursive: true });
  mkdirSync(join(dir, 'image/devicemapper'), { recursive: true });
  mkdirSync(join(dir, 'containers/abc'), { recursive: true });
  writeFileSync(join(dir, 'containers/abc/config.v2.json'), '{}');
  mkdirSync(join(dir, 'volumes/appdata/_data/sub'), { recursive: true });
  writeFileSync(join(dir, 'volumes/metadata.db'), 'bolt');
  writeFileSync(join(dir, 'volumes/appdata/_data/sub/file.txt'), 'precious');
  chmodSync(dir, 0o710);
}

describe('keepDataRoot: a data-root that is not a mount point', () => {
  it('renames it to a sibling, carries the volumes by rename, and puts everything back', async () => {
    makeDataRoot();
    const before = { root: ino('/var/lib/docker'), file: ino('/var/lib/docker/volumes/appdata/_data/sub/file.txt'), data: statSync(real('/var/lib/docker/devicemapper/devicemapper/data')) };

    const kept = await planKeepDataRoot(host, { dataRoot: '/var/lib/docker', runId: 'r1' });
    expect(kept).toMatchObject({ method: 'sibling', path: '/var/lib/docker', keptPath: '/var/lib/docker.devmapper-migrate-r1', entries: [] });
    // What is journalled survives JSON and reads back.
    expect(keptDataRootFrom(JSON.parse(JSON.stringify(kept)))).toEqual(kept);
    // Planning changed nothing.
    expect(ino('/var/lib/docker')).toBe(before.root);

    await keepDataRoot(host, kept);
    await keepDataRoot(host, kept); // a resumed step runs again: no harm
    expect(() => statSync(real('/var/lib/docker'))).toThrow();
    expect(ino('/var/lib/docker.devmapper-migrate-r1')).toBe(before.root);
    const data = statSync(real('/var/lib/docker.devmapper-migrate-r1/devicemapper/devicemapper/data'));
    expect({ ino: data.ino, blocks: data.blocks, size: data.size }).toEqual({ ino: before.data.ino, blocks: before.data.blocks, size: before.data.size });

    const carried = await carryPlanFor(host, kept);
    expect(carried).toMatchObject({ method: 'rename', from: '/var/lib/docker.devmapper-migrate-r1/volumes', to: '/var/lib/docker/volumes' });
    await carryVolumes(host, carried);
    await carryVolumes(host, carried);
    expect(ino('/var/lib/docker/volumes/appdata/_data/sub/file.txt')).toBe(before.file);
    expect(statSync(real('/var/lib/docker')).mode & 0o7777).toBe(0o710);
    expect(readdirSync(real('/var/lib/docker'))).toEqual(['volumes']);

    // The new daemon runs: its own layout, and a container writes into the volume.
    mkdirSync(real('/var/lib/docker/overlay2/l'), { recursive: true });
    writeFileSync(real('/var/lib/docker/volumes/appdata/_data/written-after.txt'), 'new data');

    // Rollback in journal order, newest first: the volumes go back, then the data-root.
    await expect(restoreDataRoot(host, kept)).rejects.toThrow(/still in the new data-root/);
    await carryVolumesBack(host, carried);
    await carryVolumesBack(host, carried);
    const restored = await restoreDataRoot(host, kept);
    expect(restored).toEqual({ alreadyRestored: false, newDataRootKeptAt: '/var/lib/docker.devmapper-migrate-r1.target' });
    expect(await restoreDataRoot(host, kept)).toEqual({ alreadyRestored: true });
    expect(ino('/var/lib/docker')).toBe(before.root);
    expect(ino('/var/lib/docker/volumes/appdata/_data/sub/file.txt')).toBe(before.file);
    expect(readFileSync(real('/var/lib/docker/volumes/appdata/_data/written-after.txt'), 'utf8')).toBe('new data');
    expect(readdirSync(real('/var/lib/docker.devmapper-migrate-r1.target'))).toEqual(['overlay2']);
    expect(() => statSync(real('/var/lib/docker.devmapper-migrate-r1'))).toThrow();
  });

  it('follows a symlinked data-root to the real directory', async () => {
    makeDataRoot('/data/docker');
    mkdirSync(real('/var/lib'), { recursive: true });
    execFileSync('ln', ['-s', '/data/docker', real('/var/lib/docker')]);
    const kept = await planKeepDataRoot(host, { dataRoot: '/var/lib/docker', runId: 'r2' });
    expect(kept).toMatchObject({ dataRoot: '/var/lib/docker', path: '/data/docker', keptPath: '/data/docker.devmapper-migrate-r2' });
  });

  it('refuses a data-root that does not exist, and a kept path taken by something else', async () => {
    await expect(planKeepDataRoot(host, { dataRoot: '/var/lib/docker', runId: 'r1' })).rejects.toBeInstanceOf(OperatorError);
    makeDataRoot();
    const kept = await planKeepDataRoot(host, { dataRoot: '/var/lib/docker', runId: 'r1' });
    mkdirSync(real('/var/lib/docker.devmapper-migrate-r1'));
    await expect(keepDataRoot(host, kept)).rejects.toThrow(/already exists and is not this run's kept data-root/);
    expect(ino('/var/lib/docker')).toBe(kept.original.ino);
  });
});

describe('keepDataRoot: a data-root that is a mount point', () => {
  /** The fixture's /proc/self/mountinfo says /var/lib/docker is mounted (as on a host with its own LV there). */
  function mountedDataRoot(extra: string[] = []): void {
    makeDataRoot();
    mkdirSync(real('/var/lib/docker/lost+found'));
    mkdirSync(real('/proc/self'), { recursive: true });
    writeFileSync(
      real('/proc/self/mountinfo'),
      [
        '22 1 253:0 / / rw,relatime shared:1 - xfs /dev/mapper/rhel-root rw',
        '95 22 253:3 / /var/lib/docker rw,relatime shared:40 - xfs /dev/mapper/rhel-docker rw,pquota',
        ...extra,
        '',
      ].join('\n'),
    );
  }

  it('moves its contents into a directory inside it, leaves lost+found, and puts them back', async () => {
    mountedDataRoot();
    const before = { root: ino('/var/lib/docker'), file: ino('/var/lib/docker/volumes/appdata/_data/sub/file.txt'), image: ino('/var/lib/docker/image') };
    const kept = await planKeepDataRoot(host, { dataRoot: '/var/lib/docker', runId: 'r3' });
    expect(kept).toMatchObject({
      method: 'contents',
      keptPath: '/var/lib/docker/.devmapper-migrate-r3',
      entries: ['containers', 'devicemapper', 'image', 'volumes'],
      leftInPlace: ['lost+found'],
    });
    await keepDataRoot(host, kept);
    await keepDataRoot(host, kept);
    expect(readdirSync(real('/var/lib/docker')).sort()).toEqual(['.devmapper-migrate-r3', 'lost+found']);
    expect(statSync(real('/var/lib/docker/.devmapper-migrate-r3')).mode & 0o777).toBe(0o700);
    expect(ino('/var/lib/docker/.devmapper-migrate-r3/image')).toBe(before.image);

    const carried = await carryPlanFor(host, kept);
    expect(carried).toEqual({ from: '/var/lib/docker/.devmapper-migrate-r3/volumes', to: '/var/lib/docker/volumes', method: 'rename' });
    await carryVolumes(host, carried);
    expect(ino('/var/lib/docker/volumes/appdata/_data/sub/file.txt')).toBe(before.file);

    // The new daemon's layout, with names the old one used too.
    mkdirSync(real('/var/lib/docker/image/overlay2'), { recursive: true });
    mkdirSync(real('/var/lib/docker/overlay2'));
    await carryVolumesBack(host, carried);
    const restored = await restoreDataRoot(host, kept);
    expect(restored.newDataRootKeptAt).toBe('/var/lib/docker/.devmapper-migrate-r3.target');
    expect(readdirSync(real('/var/lib/docker')).sort()).toEqual(['.devmapper-migrate-r3.target', 'containers', 'devicemapper', 'image', 'lost+found', 'volumes']);
    expect(readdirSync(real('/var/lib/docker/.devmapper-migrate-r3.target')).sort()).toEqual(['image', 'overlay2']);
    expect(ino('/var/lib/docker')).toBe(before.root);
    expect(ino('/var/lib/docker/image')).toBe(before.image);
    expect(ino('/var/lib/docker/volumes/appdata/_data/sub/file.txt')).toBe(before.file);
    expect(await restoreDataRoot(host, kept)).toEqual({ alreadyRestored: true });
  });

  it("does not take dockerd's own bind mount of the data-root onto itself for a mount point", async () => {
    makeDataRoot();
    mkdirSync(real('/proc/self'), { recursive: true });
    // What a running dockerd (or one that failed to start) leaves when / is not a shared mount.
    writeFileSync(
      real('/proc/self/mountinfo'),
      '22 1 253:0 / / rw,relatime - ext4 /dev/vda rw\n44 22 253:0 /var/lib/docker /var/lib/docker rw,relatime shared:3 - ext4 /dev/vda rw\n',
    );
    expect((await planKeepDataRoot(host, { dataRoot: '/var/lib/docker', runId: 'r6' })).method).toBe('sibling');
    // Stacked on a real mount of its own, the real mount still counts.
    writeFileSync(
      real('/proc/self/mountinfo'),
      '22 1 253:0 / / rw - ext4 /dev/vda rw\n95 22 253:3 / /var/lib/docker rw - xfs /dev/vdb rw\n96 95 253:3 / /var/lib/docker rw - xfs /dev/vdb rw\n',
    );
    expect((await planKeepDataRoot(host, { dataRoot: '/var/lib/docker', runId: 'r6' })).method).toBe('contents');
  });

  it('refuses when an entry inside is a mount point of its own', async () => {
    mountedDataRoot(['96 95 253:4 / /var/lib/docker/volumes rw,relatime - xfs /dev/mapper/rhel-vols rw']);
    await expect(planKeepDataRoot(host, { dataRoot: '/var/lib/docker', runId: 'r4' })).rejects.toThrow(/\/var\/lib\/docker\/volumes is a mount point inside the data-root/);
  });
});

describe('carryVolumes across filesystems', () => {
  it('refuses to copy unless told, then copies and on the way back keeps the old copy aside', async () => {
    makeDataRoot();
    const kept = await planKeepDataRoot(host, { dataRoot: '/var/lib/docker', runId: 'r5' });
    await keepDataRoot(host, kept);
    // The volumes directory is a filesystem of its own: a rename cannot take it along.
    mkdirSync(real('/proc/self'), { recursive: true });
    writeFileSync(real('/proc/self/mountinfo'), '96 22 253:4 / /var/lib/docker.devmapper-migrate-r5/volumes rw - xfs /dev/vdc rw\n');
    const paths = volumesPaths(kept);
    await expect(carryPlan(host, { from: paths.kept, to: paths.current })).rejects.toThrow(/cannot be carried by rename/);
    const carried = await carryPlanFor(host, kept, { allowCopy: true });
    expect(carried.method).toBe('copy');
    await carryVolumes(host, carried);
    expect(readFileSync(real('/var/lib/docker/volumes/appdata/_data/sub/file.txt'), 'utf8')).toBe('precious');
    writeFileSync(real('/var/lib/docker/volumes/appdata/_data/later.txt'), 'later');
    // Still mounted there: the old copy cannot be renamed aside, and nothing is overwritten.
    await expect(carryVolumesBack(host, carried)).rejects.toThrow(/is a mount point: the old copy of the volumes cannot be moved aside/);
    expect(() => statSync(real('/var/lib/docker.devmapper-migrate-r5/volumes/appdata/_data/later.txt'))).toThrow();
    // Once the operator unmounted it, the current volumes come back and the old copy stays aside.
    writeFileSync(real('/proc/self/mountinfo'), '');
    const back = await carryVolumesBack(host, carried);
    expect(back.supersededAt).toBe('/var/lib/docker.devmapper-migrate-r5/volumes.before-rollback');
    expect(readFileSync(real('/var/lib/docker.devmapper-migrate-r5/volumes/appdata/_data/later.txt'), 'utf8')).toBe('later');
  });
});

describe('archiveDataRoot', () => {
  it('writes a sparse-aware GNU tar that restores the files', async () => {
    makeDataRoot();
    mkdirSync(real('/backup'));
    const archive = await archiveDataRoot(host, { dataRoot: '/var/lib/docker', archivePath: '/backup/run/data-root.tar' });
    expect(archive.path).toBe('/backup/run/data-root.tar');
    expect(archive.command).toContain('--sparse');
    // 10 GiB apparent, 1 MiB written: the archive holds the data, not the holes.
    expect(archive.bytes).toBeLessThan(16 * 1024 * 1024);
    expect(archive.dataRootBytes).toBeLessThan(16 * 1024 * 1024);
    expect(() => statSync(real('/backup/run/data-root.tar.partial'))).toThrow();
    const out = join(root, 'extract');
    mkdirSync(out);
    execFileSync('tar', ['-xf', real('/backup/run/data-root.tar'), '-C', out]);
    expect(readFileSync(join(out, 'volumes/appdata/_data/sub/file.txt'), 'utf8')).toBe('precious');
    const data = statSync(join(out, 'devicemapper/devicemapper/data'));
    expect(data.size).toBe(10 * 1024 ** 3);
    expect(data.blocks * 512).toBeLessThan(16 * 1024 * 1024);
  });

  it('refuses when the backup filesystem is too small, before writing anything', async () => {
    makeDataRoot();
    mkdirSync(real('/backup'));
    const fixture = new FixtureHost(root, {
      commands: [
        { command: 'tar', args: ['--version'], stdout: 'tar (GNU tar) 1.34\n' },
        { command: 'tar', args: ['--help'], stdout: '--sparse --xattrs --selinux --acls' },
        { command: 'du', stdout: `${50 * 1024 ** 3}\t/var/lib/docker\n` },
      ],
      filesystems: [{ mountPoint: '/', type: 'ext4', totalBytes: 100 * 1024 ** 3, availableBytes: 20 * 1024 ** 3 }],
    });
    await expect(archiveDataRoot(fixture, { dataRoot: '/var/lib/docker', archivePath: '/backup/data-root.tar' })).rejects.toThrow(
      /Not enough space for the data-root archive in \/backup: it needs about 52\.6 GiB, 20\.0 GiB is free/,
    );
    expect(fixture.calls.some((c) => c.command === 'tar' && c.args.includes('--create'))).toBe(false);
  });

  it('refuses an archive inside the data-root', async () => {
    makeDataRoot();
    await expect(archiveDataRoot(host, { dataRoot: '/var/lib/docker', archivePath: '/var/lib/docker/backup/x.tar' })).rejects.toThrow(/inside the data-root/);
  });
});

describe('the Host writes the cutover uses', () => {
  it('writes a file atomically with its mode, and unlinks it (a missing one is fine)', async () => {
    mkdirSync(real('/etc/docker'), { recursive: true });
    await host.writeFile('/etc/docker/daemon.json', '{}\n', { mode: 0o600 });
    expect(readFileSync(real('/etc/docker/daemon.json'), 'utf8')).toBe('{}\n');
    expect(statSync(real('/etc/docker/daemon.json')).mode & 0o777).toBe(0o600);
    await host.writeFile('/etc/docker/daemon.json', '{"storage-driver":"overlay2"}\n');
    expect(readdirSync(real('/etc/docker'))).toEqual(['daemon.json']);
    expect(statSync(real('/etc/docker/daemon.json')).mode & 0o777).toBe(0o600); // kept from the file it replaced
    await host.unlink('/etc/docker/daemon.json');
    await host.unlink('/etc/docker/daemon.json');
    expect(readdirSync(real('/etc/docker'))).toEqual([]);
  });
});
