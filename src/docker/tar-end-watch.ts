/**
 * Where a tar stream could end for the daemon that reads it, found while the stream is sent.
 *
 * An upload checked against a recorded sha256 holds back the bytes from which the daemon could
 * take the archive as complete, until the whole file is hashed. Holding back the file's last
 * piece is not enough on its own: a tar reader (Go's archive/tar in dockerd) stops at the first
 * all-zero block where a header is due and never reads what follows, so a changed archive with
 * an end marker early on would be complete for the daemon long before the file's end. This
 * walks the headers the way that reader does (size field in octal or base-256, no data for
 * links, directories, devices and fifos) and reports the first offset that must wait: the end
 * marker, or any header it cannot follow for sure (a bad checksum, compressed data, PAX or GNU
 * extension headers that can change the next entry's size). Archives `docker save` writes are
 * plain ustar entries, so for them that offset is the end marker, 1024 bytes before the end.
 */
const BLOCK = 512;
/** Typeflags whose entries carry data of the header's size: regular files ('0', NUL, '7'). */
const DATA_TYPES = new Set([0x30, 0x00, 0x37]);
/** Typeflags that carry no data whatever the size field says: hard link, symlink, char, block, dir, fifo. */
const HEADER_ONLY_TYPES = new Set([0x31, 0x32, 0x33, 0x34, 0x35, 0x36]);

export class TarEndWatch {
  /** The first offset the daemon must not receive before the file is verified; Infinity while none is known. */
  holdFrom = Infinity;
  private nextHeader = 0;

  /** Reads the headers that start within `piece`, the file's bytes from `offset` on. */
  feed(piece: Buffer, offset: number): void {
    const end = offset + piece.length;
    while (this.holdFrom === Infinity && this.nextHeader < end) {
      const at = this.nextHeader;
      if (at < offset || at + BLOCK > end) {
        // A header across two pieces (a short read): not followed, so held back.
        this.holdFrom = at;
        return;
      }
      const dataSize = entryDataSize(piece.subarray(at - offset, at - offset + BLOCK));
      if (dataSize === undefined) this.holdFrom = at;
      else this.nextHeader = at + BLOCK + Math.ceil(dataSize / BLOCK) * BLOCK;
    }
  }
}

/** The bytes of data after this header block; undefined for an end marker or a header not followed for sure. */
function entryDataSize(block: Buffer): number | undefined {
  if (!hasValidChecksum(block)) return undefined;
  const type = block[156]!;
  if (HEADER_ONLY_TYPES.has(type)) return 0;
  if (!DATA_TYPES.has(type)) return undefined;
  return parseNumber(block.subarray(124, 136));
}

/** The ustar checksum: the sum of the header's bytes with its checksum field as spaces. An all-zero block fails it. */
function hasValidChecksum(block: Buffer): boolean {
  const recorded = parseNumber(block.subarray(148, 156));
  if (recorded === undefined) return false;
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  return sum === recorded && sum !== 8 * 0x20;
}

/** A numeric field: octal text (NUL- or space-padded), or base-256 when its first bit is set (Go's parseNumeric). */
function parseNumber(field: Buffer): number | undefined {
  if (field[0]! & 0x80) {
    if (field[0] === 0xff) return undefined;
    let value = field[0]! & 0x7f;
    for (const byte of field.subarray(1)) value = value * 256 + byte;
    return Number.isSafeInteger(value) ? value : undefined;
  }
  const text = field.toString('latin1').replace(/^[\0 ]+|[\0 ]+$/g, '');
  if (text === '') return 0;
  return /^[0-7]+$/.test(text) ? parseInt(text, 8) : undefined;
}
