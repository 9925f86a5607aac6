// Interoperability with GNU tar, both ways, on the tree with every kind of file.
import { execFileSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareTrees } from '../../../src/archive/index.js';
import { buildRichTree, extractFile, packToFile, readXattrs, removeDir, tempDir } from './helpers.js';

const XATTRS = ['--xattrs', '--xattrs-include=*'];

describe('GNU tar interoperability', () => {
  let work: string;
  let source: string;

  beforeAll(async () => {
    work = await tempDir('gnutar');
    source = path.join(work, 'source');
    await mkdir(source);
    await buildRichTree(source);
  });
  afterAll(() => removeDir(work));

  it('GNU tar extracts our archive to the same tree (binary xattr values excepted, see below)', async () => {
    const archive = path.join(work, 'ours.tar');
    await packToFile(source, archive);
    const target = path.join(work, 'by-gnu');
    await mkdir(target);
    // --warning=no-unknown-keyword: our LIBARCHIVE.xattr record for a binary value is unknown to GNU tar.
    execFileSync('tar', ['-x', '-p', '--same-owner', '--numeric-owner', ...XATTRS, '--warning=no-unknown-keyword', '-C', target, '-f', archive]);
    const differences = await compareTrees(source, target, { readXattrs });
    // GNU tar reads only SCHILY.xattr records; tar-stream can write those only for UTF-8 values.
    expect(differences).toEqual([{ path: 'plain.txt', field: 'xattrs', a: expect.stringContaining('"user.bin":"ff00fe80"'), b: expect.not.stringContaining('user.bin') }]);
  });

  it('we extract a GNU tar POSIX archive with xattrs to the same tree', async () => {
    const archive = path.join(work, 'gnu-posix.tar');
    execFileSync('tar', ['-c', '--format=posix', ...XATTRS, '-C', source, '-f', archive, '.']);
    const target = path.join(work, 'from-gnu-posix');
    await mkdir(target);
    const result = await extractFile(archive, target);
    // GNU tar stores a binary xattr value raw; tar-stream decodes PAX values as UTF-8, so that
    // one value is reported as not restored rather than restored wrong.
    expect(result.skipped).toEqual([{ path: 'plain.txt', reason: expect.stringContaining('user.bin') }]);
    const differences = await compareTrees(source, target, { readXattrs });
    expect(differences).toEqual([{ path: 'plain.txt', field: 'xattrs', a: expect.stringContaining('"user.bin":"ff00fe80"'), b: expect.not.stringContaining('user.bin') }]);
  });

  it('we extract a GNU-format archive (long names, whole-second times) to the same tree', async () => {
    const archive = path.join(work, 'gnu.tar');
    execFileSync('tar', ['-c', '--format=gnu', '-C', source, '-f', archive, '.']);
    const target = path.join(work, 'from-gnu');
    await mkdir(target);
    const result = await extractFile(archive, target);
    expect(result.skipped).toEqual([]);
    // GNU format keeps whole seconds only, and no xattrs.
    expect(await compareTrees(source, target, { mtimeToleranceNs: 1e9 })).toEqual([]);
  });

  it('our extraction agrees with GNU tar on the sha256 of the input', async () => {
    const archive = path.join(work, 'gnu.tar');
    const target = path.join(work, 'hash-check');
    await mkdir(target);
    const result = await extractFile(archive, target);
    expect(result.sha256).toBe(execFileSync('sha256sum', [archive], { encoding: 'utf8' }).split(' ')[0]);
  });
});
