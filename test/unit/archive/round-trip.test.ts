import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, createWriteStream, fstatSync, openSync, readFileSync } from 'node:fs';
import { lstat, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArchiveError, compareTrees, describeTree, packDirectory, type PackResult } from '../../../src/archive/index.js';
import { buildRichTree, extractBuffer, extractFile, isRoot, makeNode, LONG_NAME, makeSocket, packToFile, readXattrs, removeDir, sha256File, tempDir } from './helpers.js';

describe('pack and extract round trip', () => {
  let work: string;
  let source: string;
  let built: { xattrs: boolean; devices: boolean };
  let archive: string;
  let packed: PackResult;

  beforeAll(async () => {
    work = await tempDir('roundtrip');
    source = path.join(work, 'source');
    await mkdir(source);
    built = await buildRichTree(source);
    archive = path.join(work, 'one.tar');
    packed = await packToFile(source, archive);
  });
  afterAll(() => removeDir(work));

  it('builds the fixture it means to (root, xattrs and mknod available here)', () => {
    expect(isRoot).toBe(true);
    expect(built.devices).toBe(true);
    expect(built.xattrs).toBe(true);
  });

  it('counts every kind of entry and reports the sha256 sha256sum sees', () => {
    // big.bin is 6 MB of mostly holes: stored as a sparse entry, only its data is in the archive.
    expect(packed.sparseFiles).toBe(1);
    expect(packed.bytes).toBeLessThan(1024 * 1024);
    expect(packed.sha256).toBe(sha256File(archive));
    expect(packed.sha256).toBe(execFileSync('sha256sum', [archive], { encoding: 'utf8' }).split(' ')[0]);
    expect(packed.bytes).toBe(Number(execFileSync('stat', ['-c', '%s', archive], { encoding: 'utf8' }).trim()));
    expect(packed.entries).toMatchObject({ symlinks: 5, hardlinks: 2, fifos: 1, characterDevices: 1, blockDevices: 1 });
    expect(packed.entries.directories).toBe(12);
    expect(packed.entries.files).toBe(15);
    expect(packed.skipped).toEqual([]);
    expect(packed.xattrEntries).toBe(3);
  });

  it('restores a tree with no difference in content, mode, owner, links, kind, mtime or xattrs', async () => {
    const target = path.join(work, 'restored');
    await mkdir(target);
    const extracted = await extractFile(archive, target);
    expect(extracted.sha256).toBe(packed.sha256);
    expect(extracted.bytes).toBe(packed.bytes);
    expect(extracted.entries).toEqual(packed.entries);
    expect(extracted.skipped).toEqual([]);
    expect(extracted.xattrEntries).toBe(3);
    expect(await compareTrees(source, target, { readXattrs })).toEqual([]);
    // Spot checks that the comparison itself saw what matters.
    const tree = await describeTree(target, { readXattrs });
    expect(tree.get('setuid')).toMatchObject({ mode: 0o4755, uid: 1500 });
    expect(tree.get('sticky')).toMatchObject({ kind: 'directory', mode: 0o1777 });
    expect(tree.get('secret')).toMatchObject({ uid: 300000, gid: 300001, mode: 0o600 });
    expect(tree.get('link-absolute')).toMatchObject({ kind: 'symlink', linkTarget: '/etc/hostname' });
    expect(tree.get('a/hard-2')?.hardlinkOf).toBe('a/hard-2');
    expect(tree.get('hard-1')?.hardlinkOf).toBe('a/hard-2');
    expect(tree.get('plain.txt')?.xattrs).toEqual({ 'user.bin': 'ff00fe80', 'user.test': Buffer.from('hello world').toString('hex') });
    expect(tree.get('null-device')).toMatchObject({ kind: 'character-device', device: '1:3' });
    expect(tree.get(LONG_NAME)?.kind).toBe('file');
    expect(tree.get('plain.txt')?.mtimeNs).toBe(1_600_000_000_123_456_000n);
    expect((await lstat(path.join(target, 'big.bin'))).size).toBe(6 * 1024 * 1024 + 123);
  });

  it('finds differences when there are some', async () => {
    const target = path.join(work, 'altered');
    await mkdir(target);
    await extractFile(archive, target);
    await writeFile(path.join(target, 'a/b/c/deep.txt'), 'changed\n');
    execFileSync('chmod', ['0644', path.join(target, 'secret')]);
    execFileSync('touch', ['-d', '@1600000000.124456', path.join(target, 'plain.txt')]);
    const differences = await compareTrees(source, target);
    expect(differences).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'a/b/c/deep.txt', field: 'content' }),
        expect.objectContaining({ path: 'a/b/c/deep.txt', field: 'mtime' }),
        expect.objectContaining({ path: 'secret', field: 'mode', a: '0600', b: '0644' }),
        expect.objectContaining({ path: 'plain.txt', field: 'mtime' }),
      ]),
    );
    expect(differences).toHaveLength(4);
  });

  it('packs the same tree twice to the same bytes', async () => {
    const again = await packToFile(source, path.join(work, 'two.tar'));
    expect(again.sha256).toBe(packed.sha256);
  });

  it('keeps sub-second mtimes in PAX records that GNU tar reads', () => {
    const listing = execFileSync('tar', ['--full-time', '-tvf', archive, './plain.txt'], { encoding: 'utf8' });
    expect(listing).toContain('2020-09-13 12:26:40.123456');
  });

  it('skips sockets and reports them', async () => {
    const dir = path.join(work, 'with-socket');
    await mkdir(dir);
    await writeFile(path.join(dir, 'file'), 'x');
    const close = await makeSocket(path.join(dir, 'daemon.sock'));
    try {
      const result = await packDirectory(dir, createWriteStream(path.join(work, 'socket.tar')));
      expect(result.skipped).toEqual([expect.objectContaining({ path: 'daemon.sock' })]);
      expect(result.entries.files).toBe(1);
    } finally {
      await close();
    }
  });

  it('streams: a slow output applies backpressure and memory stays flat', async () => {
    let written = 0;
    const slow = new Writable({
      highWaterMark: 64 * 1024,
      write(chunk: Buffer, _encoding, callback) {
        written += chunk.length;
        setImmediate(callback);
      },
    });
    const progress: number[] = [];
    const result = await packDirectory(source, slow, { readXattrs, onProgress: (bytes) => progress.push(bytes) });
    expect(written).toBe(result.bytes);
    expect(result.sha256).toBe(packed.sha256);
    expect(progress.at(-1)).toBe(result.bytes);
  });

  it('writes while it reads: a finished write is followed by the next before more is queued', async () => {
    // The output finishes each write on the next turn of the event loop, as a file's
    // thread-pool write does. Packing lets the loop turn after each piece, so the queue stays
    // at about one piece; a loop that read on until the output's limit (2 MiB) queued
    // everything first and left the output idle meanwhile.
    let mostQueued = 0;
    const output = new Writable({
      highWaterMark: 64 * 1024,
      write(_chunk: Buffer, _encoding, callback) {
        setImmediate(callback);
      },
    });
    const watched = output.write.bind(output);
    output.write = ((chunk: Buffer, ...rest: never[]) => {
      mostQueued = Math.max(mostQueued, output.writableLength + chunk.length);
      return watched(chunk, ...rest);
    }) as typeof output.write;
    await packDirectory(await denseTree(), output);
    expect(mostQueued).toBeGreaterThan(0);
    expect(mostQueued).toBeLessThanOrEqual(512 * 1024);
  });

  /** A tree with 6 MB of data and no holes (the rich tree's big file is sparse: its archive is small). */
  async function denseTree(): Promise<string> {
    const dense = path.join(work, 'dense');
    await mkdir(dense, { recursive: true });
    await writeFile(path.join(dense, 'data.bin'), randomBytes(6 * 1024 * 1024));
    return dense;
  }

  it('stops when aborted and destroys the output', async () => {
    const controller = new AbortController();
    const output = createWriteStream(path.join(work, 'aborted.tar'));
    const packing = packDirectory(await denseTree(), output, {
      signal: controller.signal,
      onProgress: (bytes) => bytes > 1024 * 1024 && controller.abort(),
    });
    await expect(packing).rejects.toThrow(/abort/i);
    expect(output.destroyed).toBe(true);
  });

  it('refuses an archive cut off between two entries, and one whose checksum differs', async () => {
    const whole = readFileSync(archive);
    const cut = whole.subarray(0, whole.length - 1024);
    const target = path.join(work, 'truncated');
    await mkdir(target);
    await expect(extractBuffer(cut, target, { makeNode, allowDevices: true })).rejects.toThrow(/truncated/);
    const again = path.join(work, 'wrong-sum');
    await mkdir(again);
    await expect(extractBuffer(whole, again, { expectedSha256: '0'.repeat(64), makeNode, allowDevices: true })).rejects.toThrow(ArchiveError);
  });

  it('fails, without hanging, when the output fails (a full disk)', async () => {
    let written = 0;
    const full = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        written += chunk.length;
        callback(written > 2 * 1024 * 1024 ? Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }) : null);
      },
    });
    await expect(packDirectory(await denseTree(), full)).rejects.toThrow(/"\(archive output\)": could not be written: ENOSPC/);
  });

  it('into an open file: a full disk fails as the output, and the file is left to its caller', async () => {
    // /dev/full refuses every write with ENOSPC, as a full disk does.
    const fd = openSync('/dev/full', 'w');
    try {
      await expect(packDirectory(await denseTree(), { fd })).rejects.toThrow(/"\(archive output\)": could not be written: ENOSPC/);
      expect(fstatSync(fd).isCharacterDevice()).toBe(true); // still open: the caller closes it
    } finally {
      closeSync(fd);
    }
  });

  it('into an open file: the same bytes as through a file stream', async () => {
    const viaStream = await packDirectory(source, createWriteStream(path.join(work, 'via-stream.tar')), { readXattrs });
    const fd = openSync(path.join(work, 'via-fd.tar'), 'w');
    try {
      const viaFd = await packDirectory(source, { fd }, { readXattrs });
      expect(viaFd.sha256).toBe(viaStream.sha256);
    } finally {
      closeSync(fd);
    }
    expect(sha256File(path.join(work, 'via-fd.tar'))).toBe(viaStream.sha256);
  });
});
