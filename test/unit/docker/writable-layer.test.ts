import { Readable } from 'node:stream';
import { extract } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { DAEMON_MANAGED_PATHS, layerExclusions, planLayerCapture, rewriteTar, type LayerChange } from '../../../src/docker/writable-layer.js';

// ---- a tiny tar writer, independent of the code under test ----

function block(fields: { name: string; type: string; size?: number; linkname?: string; prefix?: string; magic?: 'ustar' | 'gnu' }): Buffer {
  const b = Buffer.alloc(512);
  b.write(fields.name, 0, 100, 'latin1');
  b.write('0000644\0', 100);
  b.write('0000000\0', 108);
  b.write('0000000\0', 116);
  b.write((fields.size ?? 0).toString(8).padStart(11, '0') + '\0', 124);
  b.write('14000000000\0', 136);
  b.write(fields.type, 156);
  if (fields.linkname) b.write(fields.linkname, 157, 100, 'latin1');
  if (fields.magic === 'gnu') b.write('ustar  \0', 257, 'latin1');
  else b.write('ustar\x0000', 257, 'latin1');
  if (fields.prefix) b.write(fields.prefix, 345, 155, 'latin1');
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
  return b;
}

const pad = (data: Buffer) => Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);

function paxData(records: [string, Buffer][]): Buffer {
  return Buffer.concat(
    records.map(([key, value]) => {
      const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
      let n = body.length + 1;
      while (String(n).length + body.length !== n) n = String(n).length + body.length;
      return Buffer.concat([Buffer.from(String(n)), body]);
    }),
  );
}

function file(name: string, content: string, extra: Partial<Parameters<typeof block>[0]> = {}): Buffer {
  const data = Buffer.from(content);
  return Buffer.concat([block({ name, type: '0', size: data.length, ...extra }), pad(data)]);
}

const END = Buffer.alloc(1024);
// A file capability as the kernel stores it: binary, not valid UTF-8.
const CAPABILITY = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0xff, 0xfe, 0x80, 0x00]);

async function collect(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function list(tar: Buffer): Promise<{ name: string; type: string; linkname?: string | null; content: string; pax?: Record<string, string> }[]> {
  const out: { name: string; type: string; linkname?: string | null; content: string; pax?: Record<string, string> }[] = [];
  const ex = extract();
  Readable.from([Buffer.concat([tar, END])]).pipe(ex);
  for await (const entry of ex) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    out.push({ name: entry.header.name, type: entry.header.type ?? 'file', linkname: entry.header.linkname, content: Buffer.concat(chunks).toString(), pax: entry.header.pax as Record<string, string> | undefined });
  }
  return out;
}

const source = (...parts: Buffer[]) => Readable.from([Buffer.concat(parts)], { objectMode: false });
// Deliver in awkward chunk sizes to exercise the block reader.
function chunked(data: Buffer, size: number): AsyncIterable<Buffer> {
  return (async function* () {
    for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
  })();
}

describe('rewriteTar', () => {
  it('puts entries under the requested path’s parent and keeps contents', async () => {
    const input = Buffer.concat([block({ name: 'd/', type: '5' }), file('d/f', 'x\n'), file('d/g', 'hello world'), END]);
    const out = await collect(rewriteTar(chunked(input, 7), 'opt', () => false));
    expect(await list(out)).toEqual([
      expect.objectContaining({ name: 'opt/d/', type: 'directory' }),
      expect.objectContaining({ name: 'opt/d/f', content: 'x\n' }),
      expect.objectContaining({ name: 'opt/d/g', content: 'hello world' }),
    ]);
  });

  it('leaves names alone for a top-level path and drops the end-of-archive blocks', async () => {
    const input = Buffer.concat([file('new.txt', 'added'), END, Buffer.alloc(4096)]);
    const out = await collect(rewriteTar(source(input), '', () => false));
    expect(out.length).toBe(1024);
    expect((await list(out))[0]).toMatchObject({ name: 'new.txt', content: 'added' });
  });

  it('keeps a binary security.capability PAX record byte for byte', async () => {
    const pax = paxData([['SCHILY.xattr.security.capability', CAPABILITY]]);
    const input = Buffer.concat([block({ name: 'PaxHeaders.0/ping', type: 'x', size: pax.length }), pad(pax), file('ping', 'ELF'), END]);
    const out = await collect(rewriteTar(source(input), 'usr/bin', () => false));
    expect(out.includes(Buffer.concat([Buffer.from('SCHILY.xattr.security.capability='), CAPABILITY, Buffer.from('\n')]))).toBe(true);
    const [entry] = await list(out);
    expect(entry).toMatchObject({ name: 'usr/bin/ping', content: 'ELF' });
  });

  it('writes a PAX path when the new name no longer fits, and replaces a PAX path the daemon wrote', async () => {
    const long = `${'n'.repeat(95)}.txt`;
    const pax = paxData([['path', Buffer.from(`x/${'y'.repeat(120)}`)]]);
    const input = Buffer.concat([
      file(long, 'long'),
      block({ name: 'PaxHeaders.0/y', type: 'x', size: pax.length }),
      pad(pax),
      file('x/yyyy', 'longer'),
      END,
    ]);
    const out = await collect(rewriteTar(source(input), 'some/deep/dir', () => false));
    expect((await list(out)).map((e) => [e.name, e.content])).toEqual([
      [`some/deep/dir/${long}`, 'long'],
      [`some/deep/dir/x/${'y'.repeat(120)}`, 'longer'],
    ]);
  });

  it('reads ustar prefixes and GNU long names', async () => {
    const gnuName = Buffer.from(`g/${'z'.repeat(110)}\0`);
    const input = Buffer.concat([
      file('leaf', 'prefixed', { prefix: 'a/b' }),
      block({ name: '././@LongLink', type: 'L', size: gnuName.length, magic: 'gnu' }),
      pad(gnuName),
      file('g/zzz', 'gnu', { magic: 'gnu' }),
      END,
    ]);
    const out = await collect(rewriteTar(source(input), 'srv', () => false));
    expect((await list(out)).map((e) => [e.name, e.content])).toEqual([
      ['srv/a/b/leaf', 'prefixed'],
      [`srv/g/${'z'.repeat(110)}`, 'gnu'],
    ]);
  });

  it('re-roots hard link targets, not symlink targets', async () => {
    const input = Buffer.concat([
      file('d/f', 'data'),
      block({ name: 'd/hard', type: '1', linkname: 'd/f' }),
      block({ name: 'd/soft', type: '2', linkname: '../etc/passwd' }),
      END,
    ]);
    const entries = await list(await collect(rewriteTar(source(input), 'opt', () => false)));
    expect(entries[1]).toMatchObject({ name: 'opt/d/hard', type: 'link', linkname: 'opt/d/f' });
    expect(entries[2]).toMatchObject({ name: 'opt/d/soft', type: 'symlink', linkname: '../etc/passwd' });
  });

  it('drops excluded entries with their contents (a volume mounted under an added directory)', async () => {
    const pax = paxData([['SCHILY.xattr.user.x', Buffer.from('1')]]);
    const input = Buffer.concat([
      block({ name: 'opt/', type: '5' }),
      block({ name: 'opt/data/', type: '5' }),
      block({ name: 'PaxHeaders.0/secret', type: 'x', size: pax.length }),
      pad(pax),
      file('opt/data/secret', 'volume data'),
      file('opt/keep', 'kept'),
      END,
    ]);
    const out = await collect(rewriteTar(source(input), '', (path) => path === '/opt/data' || path.startsWith('/opt/data/')));
    expect((await list(out)).map((e) => e.name)).toEqual(['opt/', 'opt/keep']);
    expect(out.includes(Buffer.from('user.x'))).toBe(false);
  });

  it('fails on a truncated archive', async () => {
    const input = file('f', 'x'.repeat(2000)).subarray(0, 1000);
    await expect(collect(rewriteTar(source(input), '', () => false))).rejects.toThrow(/truncated/);
  });

  // The old reader took any 512 bytes for a header: garbage went into the captured archive as an
  // entry, and an unreadable size (NaN) made it read the next entry's data as headers.
  it('refuses a damaged header (bad checksum) instead of copying it into the capture', async () => {
    const damaged = file('srv/f', 'x');
    damaged[0] = 'g'.charCodeAt(0); // one changed byte: the checksum no longer matches
    await expect(collect(rewriteTar(source(Buffer.concat([damaged, END])), '', () => false))).rejects.toThrow(/bad checksum.*at byte 0/);
  });

  it('refuses a header whose size field is not a number', async () => {
    const header = block({ name: 'f', type: '0' });
    header.write('zzzzzzzzzzz\0', 124, 'latin1');
    header.fill(0x20, 148, 156);
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
    await expect(collect(rewriteTar(source(Buffer.concat([file('a', 'x'), header, END])), '', () => false))).rejects.toThrow(/unreadable size at byte 1024/);
  });

  it('refuses a header cut short inside the block, naming the format error', async () => {
    const input = Buffer.concat([file('a', 'x'), block({ name: 'b', type: '0' }).subarray(0, 100)]);
    await expect(collect(rewriteTar(source(input), '', () => false))).rejects.toMatchObject({ name: 'TarFormatError', message: expect.stringMatching(/cut short/) });
  });

  it('refuses an extended header too large to be one (it would be held in memory)', async () => {
    const header = block({ name: 'PaxHeader', type: 'x', size: 1 << 30 });
    await expect(collect(rewriteTar(source(Buffer.concat([header, END])), '', () => false))).rejects.toThrow(/extended header of 1073741824 bytes/);
  });
});

describe('planLayerCapture', () => {
  const changes: LayerChange[] = [
    { Path: '/srv', Kind: 0 },
    { Path: '/srv/new.txt', Kind: 1 },
    { Path: '/bin', Kind: 0 },
    { Path: '/bin/wc', Kind: 2 },
    { Path: '/etc', Kind: 0 },
    { Path: '/etc/passwd', Kind: 0 },
    { Path: '/etc/hosts', Kind: 0 },
    { Path: '/opt', Kind: 1 },
    { Path: '/opt/d', Kind: 1 },
    { Path: '/opt/d/f', Kind: 1 },
    { Path: '/var', Kind: 0 },
    { Path: '/var/gone', Kind: 2 },
    { Path: '/var/gone/child', Kind: 2 },
    { Path: '/data', Kind: 1 },
    { Path: '/data/x', Kind: 1 },
    { Path: '/root/.ash_history', Kind: 1 },
    { Path: '/root', Kind: 0 },
    { Path: '/dev/console', Kind: 1 },
  ];
  const plan = planLayerCapture(changes, [...DAEMON_MANAGED_PATHS, '/data']);

  it('archives only the topmost added or changed paths, not modified directories', () => {
    expect(plan.archive).toEqual(['/etc/passwd', '/opt', '/root/.ash_history', '/srv/new.txt']);
  });

  it('returns topmost deletions', () => {
    expect(plan.deleted).toEqual(['/bin/wc', '/var/gone']);
  });

  it('skips mounts and the daemon’s own files', () => {
    expect(plan.skipped).toEqual(['/data', '/data/x', '/dev/console', '/etc/hosts']);
  });

  it('counts added paths and changed files', () => {
    expect(plan.added).toBe(5);
    expect(plan.changed).toBe(1);
  });

  it('archives a modified path with nothing listed below it (a file, or a directory whose own metadata changed)', () => {
    expect(planLayerCapture([{ Path: '/etc/motd', Kind: 0 }], []).archive).toEqual(['/etc/motd']);
  });

  it('takes exclusions from mounts, --mount targets and tmpfs', () => {
    const roots = layerExclusions({
      Mounts: [{ Type: 'volume', Name: 'v', Source: '/x', Destination: '/data/', RW: true }],
      HostConfig: { Mounts: [{ Type: 'tmpfs', Target: '/scratch' }], Tmpfs: { '/run/x': 'size=1m' } },
    });
    expect(roots).toEqual(expect.arrayContaining(['/data', '/scratch', '/run/x', '/etc/hostname', '/proc']));
  });
});
