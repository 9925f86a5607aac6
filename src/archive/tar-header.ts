/**
 * Reading raw tar headers (ustar, GNU and PAX), for the streams this project reads itself
 * rather than through tar-stream: `docker save` archives checked while they stream, and the
 * archive endpoint's tars rewritten byte for byte. Every field is checked before it is used: a
 * header must be a whole block with a right checksum and readable numbers, and extended headers
 * are bounded, so garbage is an error with its byte offset, never an entry.
 */

export const TAR_BLOCK = 512;
/** PAX and GNU long-name records are small; a larger one is not an archive we read (and would sit in memory). */
export const TAR_META_MAX = 1 << 20;

/** The archive is not a complete, well-formed tar. */
export class TarFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TarFormatError';
  }
}

/** The fields of one header block, names and links as the bytes the archive holds. */
export interface TarHeaderFields {
  /** The typeflag character ("0", "5", "x", …; "\0" for an old regular file). */
  typeflag: string;
  size: number;
  mtime: number;
  name: Buffer;
  linkname: Buffer;
  /** The ustar prefix (empty for GNU and v7 headers, which use those bytes otherwise). */
  prefix: Buffer;
  ustar: boolean;
}

/** Records that describe the next entry rather than being one: PAX (x, g) and GNU long names (L, K). */
export function isTarMetaType(typeflag: string): boolean {
  return typeflag === 'x' || typeflag === 'g' || typeflag === 'L' || typeflag === 'K';
}

export function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}

/** The fields of a header block at byte `at` of its archive; throws TarFormatError for anything but a sound header. */
export function readTarHeader(block: Buffer, at: number): TarHeaderFields {
  if (block.length !== TAR_BLOCK) throw new TarFormatError(`the archive is cut short inside the header at byte ${at}`);
  if (tarNumber(block.subarray(148, 156)) !== tarHeaderChecksum(block)) throw new TarFormatError(`a damaged tar header (bad checksum) at byte ${at}`);
  const size = tarNumber(block.subarray(124, 136));
  if (size === undefined) throw new TarFormatError(`a tar header with an unreadable size at byte ${at}`);
  const mtime = tarNumber(block.subarray(136, 148));
  if (mtime === undefined) throw new TarFormatError(`a tar header with an unreadable time at byte ${at}`);
  const typeflag = String.fromCharCode(block[156] ?? 0);
  if (isTarMetaType(typeflag) && size > TAR_META_MAX) throw new TarFormatError(`an extended header of ${size} bytes (more than ${TAR_META_MAX}) at byte ${at}`);
  const ustar = block.toString('latin1', 257, 263) === 'ustar\0';
  return {
    typeflag,
    size,
    mtime,
    name: cStringBytes(block.subarray(0, 100)),
    linkname: cStringBytes(block.subarray(157, 257)),
    prefix: ustar ? cStringBytes(block.subarray(345, 500)) : Buffer.alloc(0),
    ustar,
  };
}

/** The header checksum: the byte sum with the checksum field counted as spaces (unsigned, as everyone writes it). */
export function tarHeaderChecksum(block: Buffer): number {
  let sum = 8 * 0x20;
  for (let i = 0; i < TAR_BLOCK; i++) if (i < 148 || i >= 156) sum += block[i] ?? 0;
  return sum;
}

/** An octal field, or a base-256 one (high bit set: GNU and Go for large values); undefined when it is neither. */
export function tarNumber(field: Buffer): number | undefined {
  if (field.length > 0 && ((field[0] ?? 0) & 0x80) !== 0) {
    let value = (field[0] ?? 0) & 0x7f;
    for (let i = 1; i < field.length; i++) value = value * 256 + (field[i] ?? 0);
    return Number.isSafeInteger(value) ? value : undefined;
  }
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) return undefined;
  return parseInt(text, 8);
}

/** A NUL-terminated field's bytes (the whole field when it has no NUL). */
export function cStringBytes(field: Buffer): Buffer {
  const zero = field.indexOf(0);
  return field.subarray(0, zero === -1 ? field.length : zero);
}

/** A PAX record, its value as raw bytes: values may be binary (`SCHILY.xattr.security.capability`). */
export type PaxRecord = [key: string, value: Buffer];

/** PAX records, "<length> <key>=<value>\n" repeated; stops at the first record that does not fit its data. */
export function parsePaxRecords(data: Buffer): PaxRecord[] {
  const records: PaxRecord[] = [];
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space === -1) break;
    const length = Number(data.toString('latin1', pos, space));
    if (!Number.isSafeInteger(length) || length <= space - pos + 1 || pos + length > data.length) break;
    const record = data.subarray(space + 1, pos + length - 1);
    const eq = record.indexOf(0x3d);
    if (eq > 0) records.push([record.toString('latin1', 0, eq), record.subarray(eq + 1)]);
    pos += length;
  }
  return records;
}

/** A PAX size record, if it is a size at all (else the header's own field stands). */
export function paxSize(value: Buffer | string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const text = value.toString();
  if (!/^[0-9]+$/.test(text)) return undefined;
  const size = Number(text);
  return Number.isSafeInteger(size) ? size : undefined;
}
