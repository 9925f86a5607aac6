// Crafted archives that try to write outside the target: each must be refused with an
// UnsafeArchiveError naming the entry, and the sandbox around the target must be unchanged.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pack } from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UnsafeArchiveError } from '../../../src/archive/index.js';
import type { TarHeader } from '../../../src/archive/tar-format.js';
import { extractBuffer, makeNode, removeDir, snapshot, tempDir } from './helpers.js';

type Item = { header: TarHeader; body?: string | Buffer };

async function craft(items: Item[]): Promise<Buffer> {
  const tar = pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const chunk of tar) chunks.push(chunk as Buffer);
  })();
  for (const { header, body } of items) {
    await new Promise<void>((resolve, reject) => {
      const full = { mode: 0o644, mtime: new Date(0), ...header } as Parameters<typeof tar.entry>[0];
      if (body === undefined) tar.entry(full, (error) => (error ? reject(error) : resolve()));
      else tar.entry(full, body, (error) => (error ? reject(error) : resolve()));
    });
  }
  tar.finalize();
  await collected;
  return Buffer.concat(chunks);
}

const file = (name: string, body = 'evil\n'): Item => ({ header: { name, type: 'file' }, body });
const dir = (name: string): Item => ({ header: { name, type: 'directory', mode: 0o755 } });
const symlink = (name: string, linkname: string): Item => ({ header: { name, type: 'symlink', linkname } });
const hardlink = (name: string, linkname: string): Item => ({ header: { name, type: 'link', linkname } });

describe('extraction of hostile archives', () => {
  let sandbox: string;
  let target: string;
  let before: Map<string, string>;
  const escapeName = `dmm-escape-test-${process.pid}`;

  beforeEach(async () => {
    sandbox = await tempDir('hostile');
    target = path.join(sandbox, 'target');
    await mkdir(target);
    await writeFile(path.join(sandbox, 'sentinel'), 'untouched\n');
    await mkdir(path.join(sandbox, 'etc'));
    await writeFile(path.join(sandbox, 'etc', 'passwd'), 'root:x:0:0::/root:/bin/sh\n');
    before = snapshot(sandbox, target);
  });
  afterEach(async () => {
    await removeDir(sandbox);
  });

  async function expectRefused(items: Item[], entry: string, reason: RegExp, options = {}) {
    const archive = await craft(items);
    const error = await extractBuffer(archive, target, options).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UnsafeArchiveError);
    const refused = error as UnsafeArchiveError;
    expect(refused.entry).toBe(entry);
    expect(refused.message).toContain(JSON.stringify(entry));
    expect(refused.message).toMatch(reason);
    expect(refused.remedy).toMatch(/another copy/);
    // Nothing outside the target changed, and nothing appeared at the filesystem root.
    expect(snapshot(sandbox, target)).toEqual(before);
    expect(existsSync(path.join('/', escapeName))).toBe(false);
  }

  it('refuses an absolute path', async () => {
    const name = path.join(sandbox, 'evil');
    await expectRefused([file('ok.txt'), file(name)], name, /absolute/);
  });

  it('refuses ../x', async () => {
    await expectRefused([file('../evil')], '../evil', /'\.\.'/);
  });

  it('refuses a/../../x', async () => {
    await expectRefused([dir('a/'), file('a/../../evil')], 'a/../../evil', /'\.\.'/);
  });

  it('refuses a file through a symlink to the sandbox extracted earlier', async () => {
    await expectRefused([symlink('a', sandbox), file('a/sentinel', 'overwritten\n')], 'a/sentinel', /through the symlink "a"/);
  });

  it('refuses a file through a symlink to /', async () => {
    await expectRefused([symlink('root', '/'), file(`root/${escapeName}`)], `root/${escapeName}`, /through the symlink "root"/);
  });

  it('refuses a directory through a symlink', async () => {
    await expectRefused([symlink('a', sandbox), dir('a/newdir/')], 'a/newdir/', /through the symlink "a"/);
  });

  it('refuses a symlink that climbs out with ..', async () => {
    await expectRefused([symlink('up', '..')], 'up', /resolves outside/);
    await expectRefused([dir('d/'), symlink('d/up', '../../etc/passwd')], 'd/up', /resolves outside/);
  });

  it('refuses a .. chain through other symlinks, whatever their order', async () => {
    // q -> '.' is harmless alone, and p -> 'q/..' looks inside; together p is the parent of the target.
    await expectRefused([symlink('p', 'q/../etc'), symlink('q', '.')], 'p', /outside the target directory \(through other symlinks\)/);
    await expectRefused([dir('d/'), symlink('d/self', '.'), symlink('d/p', 'self/../../..')], 'd/p', /resolves outside/);
  });

  it('refuses a hard link to /etc/passwd and to a path outside', async () => {
    await expectRefused([hardlink('passwd', '/etc/passwd')], 'passwd', /hard link target is absolute/);
    await expectRefused([hardlink('passwd', '../etc/passwd')], 'passwd', /hard link target has a '\.\.'/);
  });

  it('refuses a hard link through a symlink or to a name not extracted', async () => {
    await expectRefused([symlink('a', path.join(sandbox, 'etc')), hardlink('passwd', 'a/passwd')], 'passwd', /not restored earlier/);
    await expectRefused([hardlink('later', 'missing'), file('missing')], 'later', /not restored earlier/);
  });

  it('refuses a hard link that moves a relative symlink to where it climbs out', async () => {
    // d/e/l -> ../../x stays inside from d/e; the same inode linked at the top climbs two levels out.
    const items = [dir('d/'), dir('d/e/'), symlink('d/e/l', '../../etc/passwd')];
    await expectRefused([...items, hardlink('h', 'd/e/l')], 'h', /from "h" it resolves outside/);
    await expectRefused([...items, hardlink('d/h1', 'd/e/l'), hardlink('h2', 'd/h1')], 'd/h1', /resolves outside/);
    // Another symlink that leads through such a link is refused too.
    await expectRefused([...items, dir('d/e/f/'), hardlink('d/e/f/h', 'd/e/l'), symlink('p', 'd/e/f/h/../../../..')], 'p', /resolves outside/);
  });

  it('sets a directory\'s mode, owner and times through the directory itself, never through a symlink swapped in for it', async () => {
    const outside = path.join(sandbox, 'etc');
    const items: Item[] = [dir('./'), { header: { name: 'd/', type: 'directory', mode: 0o777, mtime: new Date(86_400_000) } }, { header: { name: 'd/f', type: 'file', pax: { 'SCHILY.xattr.user.x': 'y' } }, body: 'x' }];
    // The xattr writer runs after every entry is written and before the directories' metadata: swap d for a link there.
    const swap = async () => {
      const { rename, symlink: makeLink } = await import('node:fs/promises');
      await rename(path.join(target, 'd'), path.join(target, 'd-moved'));
      await makeLink(outside, path.join(target, 'd'));
    };
    await expectRefused(items, 'd', /the directory was replaced while the archive was restored/, { writeXattrs: swap });
  });

  it('refuses a sparse entry whose real name climbs out or whose map lies', async () => {
    const sparse = (name: string, map: string, data: string): Item => {
      const block = Buffer.alloc(512);
      block.write(map);
      const pax = { 'GNU.sparse.major': '1', 'GNU.sparse.minor': '0', 'GNU.sparse.name': name, 'GNU.sparse.realsize': '10' };
      return { header: { name: 'GNUSparseFile.0/x', type: 'file', pax }, body: Buffer.concat([block, Buffer.from(data)]) };
    };
    await expectRefused([sparse('../evil', '1\n0\n3\n', 'abc')], '../evil', /'\.\.'/);
    await expectRefused([sparse('x', '1\n8\n5\n', 'abcde')], 'x', /beyond the file's size/);
    await expectRefused([sparse('y', '1\n0\n2\n', 'abcde')], 'y', /describes 2 bytes of data, the entry holds 5/);
  });

  it('refuses a device node without allowDevices', async () => {
    const device: Item = { header: { name: 'mem', type: 'character-device', devmajor: 1, devminor: 1 } };
    await expectRefused([device], 'mem', /allowDevices/, { makeNode });
    const block: Item = { header: { name: 'disk', type: 'block-device', devmajor: 8, devminor: 0 } };
    await expectRefused([block], 'disk', /allowDevices/, { makeNode });
  });

  it('refuses a 10 MB PAX header', async () => {
    const huge: Item = { header: { name: 'big-header', type: 'file', pax: { comment: 'x'.repeat(10 * 1024 * 1024) } }, body: 'x' };
    await expectRefused([file('ok.txt'), huge], 'header after "ok.txt"', /larger than 4 MiB/);
  });

  it('refuses a NUL in a name or a symlink target', async () => {
    await expectRefused([{ header: { name: 'a\u0000b', type: 'file', pax: {} }, body: 'x' }], 'a\u0000b', /NUL/);
    await expectRefused([{ header: { name: 'l', type: 'symlink', linkname: 'x\u0000y', pax: {} } }], 'l', /NUL/);
  });

  it('never overwrites or follows what is already in the target', async () => {
    const { symlink: makeLink } = await import('node:fs/promises');
    await makeLink(path.join(sandbox, 'sentinel'), path.join(target, 'existing'));
    await expectRefused([file('existing', 'overwritten\n')], 'existing', /already exists/);
    await expectRefused([file('existing/x')], 'existing/x', /already exists in the target as a symlink/);
  });

  it('refuses a duplicate entry instead of replacing the first', async () => {
    await expectRefused([file('x'), symlink('x', path.join(sandbox, 'sentinel'))], 'x', /already restored/);
  });

  it('still extracts a harmless archive into the same kind of sandbox', async () => {
    const archive = await craft([dir('./'), dir('./d/'), file('./d/f', 'fine\n'), symlink('./d/l', '../d/f'), symlink('./abs', '/etc/hostname'), hardlink('./d/h', './d/f'), hardlink('./d/l2', './d/l'), hardlink('./d/l3', './d/l2')]);
    const result = await extractBuffer(archive, target);
    expect(result.entries).toMatchObject({ files: 1, directories: 2, symlinks: 2, hardlinks: 3 });
    expect(snapshot(sandbox, target)).toEqual(before);
    expect(snapshot(target, '')).toEqual(
      new Map([
        ['.', 'dir 40755'],
        ['abs', 'symlink /etc/hostname'],
        ['d', 'dir 40755'],
        ['d/f', expect.stringMatching(/^file 100644 /)],
        ['d/h', expect.stringMatching(/^file 100644 /)],
        ['d/l', 'symlink ../d/f'],
        ['d/l2', 'symlink ../d/f'],
        ['d/l3', 'symlink ../d/f'],
      ]),
    );
  });
});
