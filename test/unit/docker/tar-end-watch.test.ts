import { pack as createPack } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { TarEndWatch } from '../../../src/docker/tar-end-watch.js';

async function tarOf(entries: { name: string; type?: 'file' | 'directory' | 'symlink'; linkname?: string; body?: string }[]): Promise<Buffer> {
  const pack = createPack();
  for (const { body, ...header } of entries) {
    if (body === undefined) pack.entry({ mtime: new Date(0), ...header });
    else pack.entry({ mtime: new Date(0), ...header }, body);
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Feeds `bytes` in pieces of `size`, as the upload reads them. */
function watch(bytes: Buffer, size = 1 << 20): number {
  const w = new TarEndWatch();
  for (let offset = 0; offset < bytes.length; offset += size) w.feed(bytes.subarray(offset, offset + size), offset);
  return w.holdFrom;
}

describe('TarEndWatch', () => {
  it('finds the end marker of a docker-save-shaped tar (directories, links and files of any size): its last 1024 bytes', async () => {
    const tar = await tarOf([
      { name: 'a/', type: 'directory' },
      { name: 'a/link', type: 'symlink', linkname: '../b' },
      { name: 'a/layer.tar', body: 'x'.repeat(3000) },
      { name: 'manifest.json', body: '[]' },
    ]);
    expect(watch(tar)).toBe(tar.length - 1024);
    expect(watch(tar, 512)).toBe(tar.length - 1024);
  });

  it('stops at the first end marker, whatever follows it', async () => {
    const tar = await tarOf([{ name: 'evil.json', body: '{}' }]);
    expect(watch(Buffer.concat([tar, Buffer.alloc(4096, 1)]))).toBe(tar.length - 1024);
  });

  it('holds back from a header it does not follow: a PAX header (it can change the next size), a bad checksum, bytes that are no tar, a header across two pieces', async () => {
    const long = await tarOf([{ name: 'short', body: 'a' }, { name: `${'d/'.repeat(200)}file`, body: 'b' }]);
    expect(watch(long)).toBe(1024);
    const tar = await tarOf([{ name: 'a', body: 'a' }, { name: 'b', body: 'b' }]);
    const bad = Buffer.from(tar);
    bad[1024 + 10] = 0x41;
    expect(watch(bad)).toBe(1024);
    expect(watch(Buffer.from('\x1f\x8b\x08 gzip, not a tar'.repeat(100)))).toBe(0);
    expect(watch(tar, 700)).toBe(1024);
  });
});
