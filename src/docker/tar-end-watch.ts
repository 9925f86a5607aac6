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
import { TAR_BLOCK as BLOCK, tarHeaderChecksum, tarNumber } from '../archive/tar-header.js';

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
  // An all-zero block (an end marker) fails the checksum: its field reads 0, its sum 256.
  const checksum = tarHeaderChecksum(block);
  if (tarNumber(block.subarray(148, 156)) !== checksum || checksum === 8 * 0x20) return undefined;
  const type = block[156]!;
  if (HEADER_ONLY_TYPES.has(type)) return 0;
  if (!DATA_TYPES.has(type)) return undefined;
  const size = block.subarray(124, 136);
  // A negative base-256 size (first byte 0xff) is an error for Go's reader: not followed.
  return size[0] === 0xff ? undefined : tarNumber(size);
}
