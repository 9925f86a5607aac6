import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack as createPack } from 'tar-stream';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkImageArchive,
  inspectImageArchive,
  TarFormatError,
  TarScanner,
  verifyImageArchive,
  type TarIndex,
} from '../../../src/docker/image-archive.js';
import { fakeImageArchive, padded, rawHeader, sha256 } from './fake-image-archive.js';

const dir = mkdtempSync(join(tmpdir(), 'dmm-archive-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function scan(archive: Buffer, chunkSize = archive.length): TarIndex {
  const scanner = new TarScanner();
  for (let pos = 0; pos < archive.length; pos += chunkSize) scanner.write(archive.subarray(pos, pos + chunkSize));
  return scanner.end();
}

function summary(index: TarIndex): unknown[] {
  return [...index.entries.values()].map(({ name, type, size, digest, linkname }) => ({ name, type, size, digest, linkname }));
}

describe('TarScanner', () => {
  it('gives the same index whatever the chunk boundaries', async () => {
    const { archive } = await fakeImageArchive({ tags: ['app/web:1.0'], symlinkRepeatedLayer: true });
    const whole = summary(scan(archive));
    for (const size of [1, 7, 511, 512, 513, 4096, 7919]) expect(summary(scan(archive, size))).toEqual(whole);
  });

  it('hashes regular files and keeps the small ones that start as JSON does, split anywhere', async () => {
    const pack = createPack();
    pack.entry({ name: 'a.txt' }, 'hello');
    pack.entry({ name: 'manifest.json' }, '[{"Config":"c.json"}]');
    pack.entry({ name: 'c.json' }, '{"rootfs":{}}');
    pack.entry({ name: 'layer.tar' }, Buffer.alloc(3 << 20, 1)); // a small base layer: hashed, not kept
    pack.entry({ name: 'dir', type: 'directory' });
    pack.entry({ name: 'dir/link', type: 'symlink', linkname: '../a.txt' });
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const chunk of pack as AsyncIterable<Buffer>) chunks.push(chunk);
    const index = scan(Buffer.concat(chunks));
    expect(index.entries.get('a.txt')).toMatchObject({ type: 'file', size: 5, digest: sha256('hello') });
    expect(index.entries.get('a.txt')?.content).toBeUndefined();
    expect(index.entries.get('layer.tar')).toMatchObject({ size: 3 << 20, digest: sha256(Buffer.alloc(3 << 20, 1)) });
    expect(index.entries.get('layer.tar')?.content).toBeUndefined();
    for (const size of [1, 512, 513, 65536]) {
      const split = scan(Buffer.concat(chunks), size);
      expect(split.entries.get('manifest.json')?.content?.toString()).toBe('[{"Config":"c.json"}]');
      expect(split.entries.get('c.json')?.content?.toString()).toBe('{"rootfs":{}}');
      expect(split.entries.get('layer.tar')?.content).toBeUndefined();
    }
    expect(index.entries.get('dir')).toMatchObject({ type: 'directory' });
    expect(index.entries.get('dir/link')).toMatchObject({ type: 'symlink', linkname: '../a.txt' });
  });

  it('reads PAX and GNU long names', async () => {
    const longName = `${'d'.repeat(120)}/${'f'.repeat(120)}.json`;
    const pack = createPack();
    pack.entry({ name: longName }, '{"x":1}');
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const chunk of pack as AsyncIterable<Buffer>) chunks.push(chunk);
    expect(scan(Buffer.concat(chunks)).entries.get(longName)?.content?.toString()).toBe('{"x":1}');

    const gnuName = `${'g'.repeat(150)}/layer.tar`;
    const gnu = Buffer.concat([
      rawHeader('././@LongLink', gnuName.length + 1, 'L', { gnu: true }),
      padded(Buffer.from(`${gnuName}\0`)),
      rawHeader(gnuName.slice(0, 100), 3, '0', { gnu: true }),
      padded(Buffer.from('abc')),
      Buffer.alloc(1024),
    ]);
    expect(scan(gnu).entries.get(gnuName)).toMatchObject({ size: 3, digest: sha256('abc') });
  });

  it('refuses an archive cut short, a damaged header, and junk after the end', async () => {
    const { archive } = await fakeImageArchive({ tags: ['app/web:1.0'] });
    expect(() => scan(archive.subarray(0, archive.length - 1024))).toThrow(/cut short/);
    expect(() => scan(archive.subarray(0, 700))).toThrow(TarFormatError);
    expect(() => scan(Buffer.alloc(0))).toThrow(/empty/);
    const damaged = Buffer.from(archive);
    damaged[3] = (damaged[3] ?? 0) ^ 0x20; // first header's name
    expect(() => scan(damaged)).toThrow(/bad checksum/);
    const withJunk = Buffer.concat([archive, Buffer.from('{"errorDetail":{"message":"boom"}}\n')]);
    expect(() => scan(withJunk)).toThrow(/after the end/);
  });

  it('finds the daemon error injected into the middle of a save as a format error', async () => {
    const { archive } = await fakeImageArchive({ tags: ['app/web:1.0'] });
    // moby appends its error where the tar breaks off; the next "header" is JSON.
    const broken = Buffer.concat([archive.subarray(0, 1536), Buffer.from('{"errorDetail":{"message":"write failed"},"error":"write failed"}\n')]);
    expect(() => scan(broken)).toThrow(TarFormatError);
  });
});

describe('checkImageArchive', () => {
  it('accepts an archive that holds exactly the image and its tags', async () => {
    const { archive, image } = await fakeImageArchive({ tags: ['app/web:1.0', 'app/web:latest', 'other:x'] });
    expect(checkImageArchive(scan(archive), image)).toEqual([]);
  });

  it('accepts an untagged image saved by ID (no repositories file) and a symlinked repeated layer', async () => {
    const { archive, image } = await fakeImageArchive({ tags: [], symlinkRepeatedLayer: true, layers: [Buffer.from('same'), Buffer.from('same')] });
    expect(checkImageArchive(scan(archive), image)).toEqual([]);
  });

  it('names a missing tag and an unexpected one', async () => {
    const { archive, image } = await fakeImageArchive({ tags: ['app/web:1.0', 'app/web:2.0'], archiveTags: ['app/web:1.0', 'app/web:3.0'] });
    const problems = checkImageArchive(scan(archive), image);
    expect(problems).toContain('tag app/web:2.0 is missing from the archive');
    expect(problems).toContain('the archive has tag app/web:3.0, which the inventory does not list');
    expect(problems).toContain('tag app/web:2.0 is missing from the repositories file');
  });

  it('names a tag that moved to another image', async () => {
    const { archive, image } = await fakeImageArchive({ tags: ['app/web:1.0'], otherImageTags: ['app/web:2.0'] });
    const problems = checkImageArchive(scan(archive), { ...image, tags: ['app/web:1.0', 'app/web:2.0'] });
    expect(problems.join('\n')).toMatch(/tags app\/web:2\.0 now point to image sha256:[0-9a-f]{64}, not sha256:/);
  });

  it('notices an image ID that is not the config digest', async () => {
    const { archive, image } = await fakeImageArchive({ tags: ['app/web:1.0'] });
    const problems = checkImageArchive(scan(archive), { ...image, id: sha256('something else') });
    expect(problems.join('\n')).toMatch(/now point to image .* not sha256:/);
  });

  it('notices a layer whose content does not match the config, only when deep', async () => {
    const { archive, image } = await fakeImageArchive({ tags: ['app/web:1.0'], corruptLayer: 1 });
    expect(checkImageArchive(scan(archive), image).join('\n')).toMatch(/layer .*layer\.tar has digest sha256:.*but the image config expects/);
    expect(checkImageArchive(scan(archive), image, { deep: false })).toEqual([]);
  });

  it('notices a missing manifest', async () => {
    const { archive, image } = await fakeImageArchive({ tags: ['app/web:1.0'], noManifest: true });
    expect(checkImageArchive(scan(archive), image)).toEqual(['the archive has no manifest.json']);
  });

  it('ignores the "<none>:<none>" pseudo-tag and Docker Hub prefixes', async () => {
    const { archive, image } = await fakeImageArchive({ tags: ['busybox:latest'] });
    expect(checkImageArchive(scan(archive), { ...image, tags: ['docker.io/library/busybox:latest', '<none>:<none>'] })).toEqual([]);
  });
});

describe('verifyImageArchive', () => {
  it('returns the digest and size of a good archive, and undefined for a missing, damaged or changed one', async () => {
    const { archive, image } = await fakeImageArchive({ tags: ['app/web:1.0'] });
    const file = join(dir, 'good.tar');
    writeFileSync(file, archive);
    const good = await verifyImageArchive(file, image);
    expect(good).toEqual({ sha256: sha256(archive), bytes: archive.length });
    expect(await verifyImageArchive(file, image, { expectedSha256: good?.sha256 })).toEqual(good);
    expect(await verifyImageArchive(file, image, { expectedSha256: sha256('other') })).toBeUndefined();
    expect(await verifyImageArchive(join(dir, 'missing.tar'), image)).toBeUndefined();

    const truncated = join(dir, 'truncated.tar');
    writeFileSync(truncated, archive.subarray(0, archive.length - 2048));
    expect(await verifyImageArchive(truncated, image)).toBeUndefined();
    const inspected = await inspectImageArchive(truncated, image);
    expect(inspected.ok).toBe(false);
    expect(!inspected.ok && inspected.problems.join()).toMatch(/cut short|manifest/);

    expect(await verifyImageArchive(file, { ...image, tags: ['app/web:2.0'] })).toBeUndefined();
  });
});
