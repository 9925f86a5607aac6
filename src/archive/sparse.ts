/**
 * Sparse files in the PAX 1.0 sparse format of GNU tar (`GNU.sparse.major=1`,
 * `GNU.sparse.minor=0`): the entry's data starts with a map of the data regions (decimal
 * numbers, one a line, padded to 512 bytes), followed by the regions' bytes only. GNU tar
 * (since 1.16) and libarchive restore it with its holes; other tars see a file named
 * `GNUSparseFile.0/<name>` holding the map and the data, never a wrong file under the real name.
 *
 * Holes are found by reading: Node has no SEEK_DATA/SEEK_HOLE. A block of HOLE_BLOCK zero bytes
 * is taken as a hole (as GNU tar does without SEEK_HOLE), so zeros the file had allocated come
 * back as holes: the same content, less disk.
 */
import { readSync } from 'node:fs';

/** Holes are found at this granularity (the common filesystem block size). */
export const HOLE_BLOCK = 4096;
const TAR_BLOCK = 512;
/** Largest sparse map accepted on extraction (a map line is at least 2 bytes: this is ~4M regions). */
export const MAX_MAP_BYTES = 16 * 1024 * 1024;

export interface Region {
  offset: number;
  length: number;
}

const ZEROS = Buffer.alloc(HOLE_BLOCK);

/** Whether a file has fewer blocks allocated than its size needs: only then are holes looked for. */
export function mayHaveHoles(size: bigint, blocks: bigint): boolean {
  return size >= BigInt(2 * HOLE_BLOCK) && blocks * 512n < size;
}

/**
 * The data regions of the first `size` bytes of `fd` (everything not in an all-zero
 * HOLE_BLOCK), or undefined when there is no hole. Reads with `buffer`.
 */
export function dataRegions(fd: number, size: number, buffer: Buffer, signal?: AbortSignal): Region[] | undefined {
  const regions: Region[] = [];
  let position = 0;
  while (position < size) {
    signal?.throwIfAborted();
    const bytesRead = readSync(fd, buffer, 0, Math.min(buffer.length, size - position), position);
    if (bytesRead === 0) break;
    for (let at = 0; at < bytesRead; at += HOLE_BLOCK) {
      const block = buffer.subarray(at, Math.min(at + HOLE_BLOCK, bytesRead));
      const zero = block.length === HOLE_BLOCK ? block.equals(ZEROS) : block.every((byte) => byte === 0);
      if (zero) continue;
      const offset = position + at;
      const last = regions[regions.length - 1];
      if (last !== undefined && last.offset + last.length === offset) last.length += block.length;
      else regions.push({ offset, length: block.length });
    }
    position += bytesRead;
  }
  const dataBytes = regions.reduce((sum, r) => sum + r.length, 0);
  return dataBytes === size ? undefined : regions;
}

/** The map that starts the entry's data; a file that ends in a hole ends with an empty region at its size (as GNU tar writes it). */
export function encodeMap(regions: readonly Region[], size: number): Buffer {
  const all = [...regions];
  const last = all[all.length - 1];
  if (last === undefined || last.offset + last.length < size) all.push({ offset: size, length: 0 });
  const text = `${all.length}\n${all.map((r) => `${r.offset}\n${r.length}\n`).join('')}`;
  const padded = Buffer.alloc(Math.ceil(text.length / TAR_BLOCK) * TAR_BLOCK);
  padded.write(text, 'latin1');
  return padded;
}

/** Where GNU tar puts a sparse file's stand-in name: `<dir>/GNUSparseFile.0/<base>`. */
export function standInName(name: string): string {
  const slash = name.lastIndexOf('/');
  return `${name.slice(0, slash + 1)}GNUSparseFile.0/${name.slice(slash + 1)}`;
}

/** The PAX records of a sparse entry. */
export function sparseRecords(name: string, size: number): Record<string, string> {
  return { 'GNU.sparse.major': '1', 'GNU.sparse.minor': '0', 'GNU.sparse.name': name, 'GNU.sparse.realsize': String(size) };
}

/**
 * Reads a sparse map from the start of an entry's data, fed chunk by chunk. `push` returns
 * undefined until the map is complete, then the map, its size with padding, and the data bytes
 * that followed it.
 */
export class SparseMapReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly fail: (reason: string) => never) {}

  push(chunk: Buffer): { regions: Region[]; rest: Buffer; mapBytes: number } | undefined {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes > MAX_MAP_BYTES + TAR_BLOCK) this.fail(`its sparse map is larger than ${MAX_MAP_BYTES} bytes`);
    const bytes = Buffer.concat(this.pending);
    this.pending = [bytes];
    const parsed = parseMap(bytes, this.fail);
    if (parsed === undefined) return undefined;
    const mapBytes = Math.ceil(parsed.textBytes / TAR_BLOCK) * TAR_BLOCK;
    if (bytes.length < mapBytes) return undefined;
    return { regions: parsed.regions, rest: bytes.subarray(mapBytes), mapBytes };
  }
}

function parseMap(bytes: Buffer, fail: (reason: string) => never): { regions: Region[]; textBytes: number } | undefined {
  const numbers: number[] = [];
  let start = 0;
  for (;;) {
    const end = bytes.indexOf(0x0a, start);
    if (end === -1) return undefined;
    const text = bytes.toString('latin1', start, end);
    if (!/^\d{1,16}$/.test(text)) fail(`its sparse map has ${JSON.stringify(text.slice(0, 20))} where a number belongs`);
    numbers.push(Number(text));
    start = end + 1;
    const count = numbers[0] as number;
    if (numbers.length === 1 + 2 * count) break;
  }
  const regions: Region[] = [];
  for (let i = 1; i < numbers.length; i += 2) regions.push({ offset: numbers[i] as number, length: numbers[i + 1] as number });
  return { regions, textBytes: start };
}

/** Checks a map against the entry: regions in order, not overlapping, inside the file, and exactly the entry's data. */
export function checkMap(regions: readonly Region[], realSize: number, dataBytes: number, fail: (reason: string) => never): void {
  let end = 0;
  let total = 0;
  for (const { offset, length } of regions) {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < end || offset + length > realSize) {
      fail(`its sparse map has a region (${offset}, ${length}) out of order or beyond the file's size ${realSize}`);
    }
    end = offset + length;
    total += length;
  }
  if (total !== dataBytes) fail(`its sparse map describes ${total} bytes of data, the entry holds ${dataBytes}`);
}
