// The packer writes headers itself (tar-encode.ts, ported from tar-stream): its bytes must be
// exactly what tar-stream's pack() writes for the same header, or archives would change.
import { describe, expect, it } from 'vitest';
import { pack } from 'tar-stream';
import { encodeEntryHeader, padTo } from '../../../src/archive/tar-encode.js';
import { LONG_NAME } from './helpers.js';
import type { TarHeader } from '../../../src/archive/tar-format.js';

/** The bytes tar-stream writes for one entry (a file's body given as zeros), before the end marker. */
async function tarStreamBytes(header: TarHeader): Promise<Buffer> {
  const tar = pack();
  const size = header.type === 'file' ? (header.size ?? 0) : 0;
  const entry = { ...header } as Parameters<typeof tar.entry>[0];
  if (header.type === 'file') tar.entry(entry, Buffer.alloc(size));
  else tar.entry(entry);
  tar.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of tar as AsyncIterable<Buffer>) chunks.push(chunk);
  const all = Buffer.concat(chunks);
  return all.subarray(0, all.length - 1024);
}

function ourBytes(header: TarHeader): Buffer {
  const size = header.type === 'file' ? (header.size ?? 0) : 0;
  return Buffer.concat([encodeEntryHeader({ ...header }), Buffer.alloc(size + padTo(size))]);
}

const base = { mode: 0o644, uid: 1000, gid: 1000, mtime: new Date(1_700_000_000_000) };
const deepName = `./${'d'.repeat(90)}/${'e'.repeat(90)}/${'f'.repeat(60)}.txt`;

const headers: [string, TarHeader][] = [
  ['a plain file', { ...base, name: './a.txt', type: 'file', size: 1234 }],
  ['an empty file', { ...base, name: './empty', type: 'file', size: 0 }],
  ['a directory', { ...base, mode: 0o755, name: './dir/', type: 'directory' }],
  ['mode 0 (tar-stream writes its default)', { ...base, mode: 0, name: './zero', type: 'file', size: 3 }],
  ['a name split into the ustar prefix', { ...base, name: deepName, type: 'file', size: 10 }],
  ['a long name (PAX path)', { ...base, name: `./${LONG_NAME}`, type: 'file', size: 700 }],
  ['a name that is not ASCII (PAX path)', { ...base, name: './ünïcödé-名前.txt', type: 'file', size: 1 }],
  ['a symlink', { ...base, name: './link', type: 'symlink', linkname: '../target' }],
  ['a long symlink target (PAX linkpath)', { ...base, name: './link', type: 'symlink', linkname: 't'.repeat(150) }],
  ['a hard link', { ...base, name: './second', type: 'link', linkname: './first', size: 0 }],
  ['a character device', { ...base, name: './null', type: 'character-device', devmajor: 1, devminor: 3 }],
  ['a block device', { ...base, name: './loop', type: 'block-device', devmajor: 7, devminor: 0 }],
  ['a FIFO', { ...base, name: './fifo', type: 'fifo' }],
  ['PAX times, ids and xattrs', { ...base, uid: 0o7777777, name: './x', type: 'file', size: 5, pax: { mtime: '1700000000.5', uid: String(0o7777777), 'SCHILY.xattr.user.a': 'b', 'LIBARCHIVE.xattr.user.%3D': 'AAE=' } }],
  ['a size over the octal field (base-256)', { ...base, name: './big', type: 'file', size: 0o77777777777 + 1, pax: { size: String(0o77777777777 + 1) } }],
  ['a sparse stand-in', { ...base, name: './GNUSparseFile.0/s', type: 'file', size: 1536, pax: { 'GNU.sparse.major': '1', 'GNU.sparse.minor': '0', 'GNU.sparse.name': './s', 'GNU.sparse.realsize': '1048576' } }],
];

describe('tar header encoding', () => {
  it.each(headers.filter(([label]) => !label.includes('base-256')))('writes %s byte for byte as tar-stream does', async (_label, header) => {
    expect(ourBytes(header).equals(await tarStreamBytes(header))).toBe(true);
  });

  it('writes a size over the octal field byte for byte as tar-stream does (header blocks only)', async () => {
    const header = (headers.find(([label]) => label.includes('base-256')) as [string, TarHeader])[1];
    const tar = pack();
    const chunks: Buffer[] = [];
    tar.on('data', (chunk) => chunks.push(chunk as Buffer));
    tar.entry({ ...header } as Parameters<typeof tar.entry>[0]);
    // The header is written when the entry opens; its 8 GiB body is never given.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(chunks.length).toBeGreaterThan(0);
    expect(encodeEntryHeader({ ...header }).equals(Buffer.concat(chunks))).toBe(true);
  });
});
