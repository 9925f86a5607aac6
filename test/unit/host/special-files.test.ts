// hostNodeMaker: FIFOs and device nodes from a volume archive, made by the real mknod (the
// restore of an archived volume passes it, with allowDevices as root).
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hostNodeMaker, mknodArgs } from '../../../src/host/special-files.js';
import { NodeHost } from '../../../src/host/node-host.js';
import { extractFile, packToFile, removeDir, tempDir } from '../archive/helpers.js';

let work: string | undefined;
afterEach(async () => removeDir(work));

describe('mknodArgs', () => {
  it('names the type, the mode and the numbers as mknod wants them', () => {
    expect(mknodArgs('/v/pipe', { kind: 'fifo', mode: 0o640, major: 0, minor: 0 })).toEqual(['-m', '640', '/v/pipe', 'p']);
    expect(mknodArgs('/v/null', { kind: 'character-device', mode: 0o100666, major: 1, minor: 3 })).toEqual(['-m', '666', '/v/null', 'c', '1', '3']);
    expect(mknodArgs('/v/disk', { kind: 'block-device', mode: 0o600, major: 8, minor: 16 })).toEqual(['-m', '600', '/v/disk', 'b', '8', '16']);
  });
});

describe('hostNodeMaker in an extraction (root)', () => {
  it('restores a FIFO and a character device with their modes and numbers', async () => {
    work = await tempDir('special-files');
    const source = path.join(work, 'source');
    const target = path.join(work, 'target');
    execFileSync('mkdir', ['-p', source, target]);
    execFileSync('mknod', ['-m', '620', path.join(source, 'pipe'), 'p']);
    execFileSync('mknod', ['-m', '644', path.join(source, 'null'), 'c', '1', '3']);
    const archive = path.join(work, 'volume.tar');
    await packToFile(source, archive);

    const result = await extractFile(archive, target, { makeNode: hostNodeMaker(new NodeHost()), allowDevices: true });
    expect(result.skipped).toEqual([]);
    const pipe = statSync(path.join(target, 'pipe'));
    expect(pipe.isFIFO()).toBe(true);
    expect(pipe.mode & 0o7777).toBe(0o620);
    const device = statSync(path.join(target, 'null'));
    expect(device.isCharacterDevice()).toBe(true);
    expect(device.mode & 0o7777).toBe(0o644);
    expect(device.rdev).toBe(statSync('/dev/null').rdev);
  });

  it('names the path and the fix when mknod fails', async () => {
    const make = hostNodeMaker(new NodeHost());
    await expect(make('/nonexistent-dir/pipe', { kind: 'fifo', mode: 0o600, major: 0, minor: 0 })).rejects.toThrow(/mknod could not create the fifo \/nonexistent-dir\/pipe/);
  });
});
