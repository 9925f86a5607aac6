// Sparse files (issue 19, item 8): archived without their holes in GNU tar's PAX 1.0 sparse
// format, restored with their holes by our extraction and by GNU tar, and GNU tar's own sparse
// archives restored by us.
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { mkdir, open, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareTrees } from '../../../src/archive/index.js';
import { extractFile, packToFile, removeDir, tempDir } from './helpers.js';

const MiB = 1024 * 1024;

/** A file of `size` bytes with `data` written at each offset, holes elsewhere. */
async function sparseFile(file: string, size: number, data: Record<number, string>): Promise<void> {
  const handle = await open(file, 'w');
  await handle.truncate(size);
  for (const [offset, text] of Object.entries(data)) await handle.write(Buffer.from(text), 0, text.length, Number(offset));
  await handle.close();
}

const allocated = (file: string) => statSync(file).blocks * 512;

describe('sparse files', () => {
  let work: string;
  let source: string;

  beforeAll(async () => {
    work = await tempDir('sparse');
    source = path.join(work, 'volume');
    await mkdir(source);
    await sparseFile(path.join(source, 'disk.img'), 256 * MiB, { 0: 'boot', [100 * MiB + 5]: 'middle', [256 * MiB - 3]: 'end' });
    await sparseFile(path.join(source, 'tail-hole'), 64 * MiB, { 4096: 'data then a hole to the end' });
    await mkdir(path.join(source, 'sub'));
    await sparseFile(path.join(source, 'sub/head-hole'), 8 * MiB + 1, { [8 * MiB]: 'x' });
    await writeFile(path.join(source, 'plain'), 'not sparse\n');
    expect(allocated(path.join(source, 'disk.img'))).toBeLessThan(MiB);
  });
  afterAll(() => removeDir(work));

  it('are archived without their holes, and restored by us with their holes', async () => {
    const archive = path.join(work, 'ours.tar');
    const packed = await packToFile(source, archive);
    expect(packed.sparseFiles).toBe(3);
    expect(statSync(archive).size).toBeLessThan(MiB);
    const target = path.join(work, 'by-us');
    await mkdir(target);
    const extracted = await extractFile(archive, target);
    expect(extracted.entries.files).toBe(4);
    expect(await compareTrees(source, target)).toEqual([]);
    for (const name of ['disk.img', 'tail-hole', 'sub/head-hole']) {
      expect(statSync(path.join(target, name)).size).toBe(statSync(path.join(source, name)).size);
      expect(allocated(path.join(target, name)), name).toBeLessThan(MiB);
    }
  });

  it('GNU tar lists them under their real names and restores them with their holes', async () => {
    const archive = path.join(work, 'ours.tar');
    const listing = execFileSync('tar', ['-tf', archive], { encoding: 'utf8' });
    expect(listing).toContain('./disk.img\n');
    expect(listing).not.toContain('GNUSparseFile');
    const target = path.join(work, 'by-gnu');
    await mkdir(target);
    execFileSync('tar', ['-x', '-p', '--numeric-owner', '-C', target, '-f', archive]);
    expect(await compareTrees(source, target)).toEqual([]);
    expect(allocated(path.join(target, 'disk.img'))).toBeLessThan(MiB);
  });

  it('GNU tar --sparse archives (PAX 1.0) are restored by us with their holes', async () => {
    const archive = path.join(work, 'gnu.tar');
    execFileSync('tar', ['-c', '--format=posix', '--sparse', '--sparse-version=1.0', '-C', source, '-f', archive, '.']);
    const target = path.join(work, 'from-gnu');
    await mkdir(target);
    await extractFile(archive, target);
    expect(await compareTrees(source, target)).toEqual([]);
    expect(allocated(path.join(target, 'disk.img'))).toBeLessThan(MiB);
  });
});
