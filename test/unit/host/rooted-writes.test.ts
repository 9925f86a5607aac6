// Rewriting system files keeps what the operator set: owner, group and mode of the file, and a
// symlink that config management put in place (written through, never replaced by a new file).
import { chmod, chown, lstat, mkdir, mkdtemp, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OperatorError } from '../../../src/errors.js';
import { RootedWrites } from '../../../src/host/rooted-writes.js';

let root: string;

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'dmm-writes-'));
  await mkdir(path.join(root, 'etc/docker'), { recursive: true });
  await mkdir(path.join(root, 'srv/config'), { recursive: true });
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const asRoot = process.getuid?.() === 0;

describe('RootedWrites.writeFile', () => {
  it('writes through an absolute symlink to the file it names, keeping that file\'s mode and owner', async () => {
    const real = path.join(root, 'srv/config/daemon.json');
    await writeFile(real, '{"storage-driver": "devicemapper"}\n');
    await chmod(real, 0o640);
    if (asRoot) await chown(real, 1234, 5678);
    await symlink('/srv/config/daemon.json', path.join(root, 'etc/docker/daemon.json'));

    const written = await new RootedWrites(root).writeFile('/etc/docker/daemon.json', '{"storage-driver": "overlay2"}\n', { mode: 0o777 });

    expect(written).toBe('/srv/config/daemon.json');
    const link = path.join(root, 'etc/docker/daemon.json');
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(await readlink(link)).toBe('/srv/config/daemon.json');
    expect(await readFile(real, 'utf8')).toBe('{"storage-driver": "overlay2"}\n');
    const after = await stat(real);
    expect(after.mode & 0o7777).toBe(0o640);
    if (asRoot) expect([after.uid, after.gid]).toEqual([1234, 5678]);
  });

  it('writes through a relative link and a chain of links', async () => {
    const real = path.join(root, 'srv/config/override.conf');
    await writeFile(real, '[Service]\n');
    await chmod(real, 0o600);
    await symlink('../../srv/config/override.conf', path.join(root, 'srv/middle.conf'));
    await symlink('/srv/middle.conf', path.join(root, 'etc/docker/override.conf'));

    await new RootedWrites(root).writeFile('/etc/docker/override.conf', '[Service]\nExecStart=\n');

    expect((await lstat(path.join(root, 'srv/middle.conf'))).isSymbolicLink()).toBe(true);
    expect((await lstat(path.join(root, 'etc/docker/override.conf'))).isSymbolicLink()).toBe(true);
    expect(await readFile(real, 'utf8')).toBe('[Service]\nExecStart=\n');
    expect((await stat(real)).mode & 0o7777).toBe(0o600);
  });

  it('keeps the owner, group and mode of a regular file it replaces; a new file gets the options', async () => {
    const file = path.join(root, 'etc/docker/daemon.json');
    await writeFile(file, '{}\n');
    await chmod(file, 0o600);
    if (asRoot) await chown(file, 4321, 8765);
    const host = new RootedWrites(root);
    await host.writeFile('/etc/docker/daemon.json', '{"debug": true}\n', { mode: 0o644, uid: 0, gid: 0 });
    const after = await stat(file);
    expect(after.mode & 0o7777).toBe(0o600);
    if (asRoot) expect([after.uid, after.gid]).toEqual([4321, 8765]);

    await host.writeFile('/etc/docker/new.conf', 'x\n', { mode: 0o640 });
    expect((await stat(path.join(root, 'etc/docker/new.conf'))).mode & 0o7777).toBe(0o640);
  });

  it('refuses a dangling link and leaves it as it was', async () => {
    const link = path.join(root, 'etc/docker/daemon.json');
    await symlink('/srv/config/missing.json', link);
    await expect(new RootedWrites(root).writeFile('/etc/docker/daemon.json', '{}\n')).rejects.toThrow(OperatorError);
    expect(await readlink(link)).toBe('/srv/config/missing.json');
  });
});
