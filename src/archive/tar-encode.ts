/**
 * An entry's header blocks exactly as tar-stream's `pack().entry()` writes them (its
 * headers.encode and encodePax, 3.x, ported: the package exports neither), so that the packer
 * can write headers straight into its own output buffers instead of going through a stream
 * object per entry. test/unit/archive/tar-encode.test.ts pins the bytes against tar-stream's.
 * tar-stream is MIT-licensed, Copyright (c) 2014 Mathias Buus; its notice ships with it in node_modules.
 */
import type { TarHeader } from './tar-format.js';
import { TAR_BLOCK as BLOCK, tarHeaderChecksum } from './tar-header.js';

/** A header as one block encodes it: an entry's, or the PAX header's before it. */
type BlockFields = Omit<TarHeader, 'type'> & { type?: string };
const ZEROS = '0000000000000000000';
const SEVENS = '7777777777777777777';
const USTAR_MAGIC = Buffer.from('ustar\u000000', 'latin1');
const TYPEFLAGS: Record<string, number> = {
  file: 0,
  link: 1,
  symlink: 2,
  'character-device': 3,
  'block-device': 4,
  directory: 5,
  fifo: 6,
  'contiguous-file': 7,
  'pax-header': 72,
};

/** The header blocks of one entry (a PAX header and its records first when needed), padded to whole blocks. */
export function encodeEntryHeader(input: TarHeader): Buffer {
  const header = withPackDefaults(input);
  if (!header.pax) {
    const plain = encodeBlock(header);
    if (plain) return plain;
  }
  const records = encodePaxRecords(header.name, header.linkname ?? undefined, header.pax ?? undefined);
  const paxEntry: BlockFields = { ...header, name: 'PaxHeader', size: records.length, type: 'pax-header', linkname: header.linkname ? 'PaxHeader' : header.linkname, pax: undefined };
  const first = encodeBlock(paxEntry) as Buffer;
  const real = encodeBlock({ ...paxEntry, size: header.size, type: header.type }) as Buffer;
  const padding = Buffer.alloc(padTo(records.length));
  return Buffer.concat([first, records, padding, real]);
}

/** Zero bytes that complete `size` bytes of data to whole blocks. */
export function padTo(size: number): number {
  const rest = size % BLOCK;
  return rest === 0 ? 0 : BLOCK - rest;
}

/** What tar-stream's entry() fills in before encoding. */
function withPackDefaults(header: TarHeader): TarHeader {
  const type = header.type ?? 'file';
  return {
    ...header,
    type,
    size: !header.size || type === 'symlink' ? 0 : header.size,
    mode: header.mode || (type === 'directory' ? 0o755 : 0o644),
    uid: header.uid || 0,
    gid: header.gid || 0,
    mtime: header.mtime ?? new Date(),
  };
}

/** One ustar block, or undefined when a name or link does not fit it (then PAX carries them). */
function encodeBlock(header: BlockFields): Buffer | undefined {
  let name = header.name;
  let prefix = '';
  if (Buffer.byteLength(name) !== name.length) return undefined;
  while (Buffer.byteLength(name) > 100) {
    const slash = name.indexOf('/');
    if (slash === -1) return undefined;
    prefix += prefix ? '/' + name.slice(0, slash) : name.slice(0, slash);
    name = name.slice(slash + 1);
  }
  if (Buffer.byteLength(name) > 100 || Buffer.byteLength(prefix) > 155) return undefined;
  const linkname = header.linkname;
  if (linkname && Buffer.byteLength(linkname) > 100) return undefined;
  const block = Buffer.alloc(BLOCK);
  block.write(name, 0);
  block.write(octal((header.mode ?? 0) & 0o7777, 6), 100);
  block.write(octal(header.uid ?? 0, 6), 108);
  block.write(octal(header.gid ?? 0, 6), 116);
  writeSize(header.size ?? 0, block, 124);
  block.write(octal(((header.mtime as Date).getTime() / 1000) | 0, 11), 136);
  block[156] = 0x30 + (TYPEFLAGS[header.type ?? 'file'] ?? 0);
  if (linkname) block.write(linkname, 157);
  USTAR_MAGIC.copy(block, 257);
  if (header.uname) block.write(header.uname, 265);
  if (header.gname) block.write(header.gname, 297);
  block.write(octal(header.devmajor || 0, 6), 329);
  block.write(octal(header.devminor || 0, 6), 337);
  if (prefix) block.write(prefix, 345);
  block.write(octal(tarHeaderChecksum(block), 6), 148);
  return block;
}

function octal(value: number, digits: number): string {
  const text = value.toString(8);
  if (text.length > digits) return SEVENS.slice(0, digits) + ' ';
  return ZEROS.slice(0, digits - text.length) + text + ' ';
}

/** Octal up to 11 digits, base-256 above (as GNU tar reads it). */
function writeSize(size: number, block: Buffer, at: number): void {
  if (size.toString(8).length <= 11) {
    block.write(octal(size, 11), at);
    return;
  }
  block[at] = 0x80;
  let rest = size;
  for (let i = 11; i > 0; i--) {
    block[at + i] = rest & 0xff;
    rest = Math.floor(rest / 0x100);
  }
}

function encodePaxRecords(name: string, linkname: string | undefined, pax: Record<string, string> | undefined): Buffer {
  let text = '';
  if (name) text += withLength(' path=' + name + '\n');
  if (linkname) text += withLength(' linkpath=' + linkname + '\n');
  for (const key in pax) text += withLength(' ' + key + '=' + pax[key] + '\n');
  return Buffer.from(text);
}

/** A PAX record's decimal length prefix counts its own digits. */
function withLength(record: string): string {
  const length = Buffer.byteLength(record);
  let digits = Math.floor(Math.log(length) / Math.log(10)) + 1;
  if (length + digits >= Math.pow(10, digits)) digits++;
  return String(length + digits) + record;
}
