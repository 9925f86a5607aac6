/**
 * Packs a directory tree into a tar archive (tar-stream's header format, PAX where needed) and
 * hashes the bytes as they are written. Files are never held whole in memory: they are read in
 * CHUNK pieces, and written to an open file from this thread or to a stream with its
 * backpressure (pack-sink.ts).
 */
import { closeSync, constants, fstatSync, openSync, readSync, readlinkSync, type BigIntStats } from 'node:fs';
import { open } from 'node:fs/promises';
import { ArchiveError } from './errors.js';
import { OffThreadSha256 } from './off-thread-sha256.js';
import { OutputFailure, sinkFor, type PackSink, type PackTarget } from './pack-sink.js';
import { dataRegions, encodeMap, mayHaveHoles, sparseRecords, standInName, type Region } from './sparse.js';
import { walkTreeSync, type WalkEntry } from './walk.js';
import { encodeEntryHeader, padTo } from './tar-encode.js';
import { formatPaxTime, splitDev, USTAR_ID_MAX, USTAR_SIZE_MAX, xattrPaxRecord, type TarHeader } from './tar-format.js';
import type { TreeXattrs, XattrReader } from './xattr.js';

export interface PackOptions {
  /** Called with the archive's bytes written so far. */
  onProgress?(bytes: number): void;
  signal?: AbortSignal;
  /** Reads the tree's extended attributes (one getfattr call); without it none are kept. */
  readXattrs?: XattrReader;
  /** Where the archive's bytes are hashed: a fresh worker thread by default (tests give one they make fail). */
  hash?: OffThreadSha256;
}

export interface EntryCounts {
  files: number;
  directories: number;
  symlinks: number;
  /** Second and later names of a multiply linked inode. */
  hardlinks: number;
  characterDevices: number;
  blockDevices: number;
  fifos: number;
}

export interface SkippedEntry {
  path: string;
  reason: string;
}

export interface PackResult {
  /** Hex sha256 of the archive bytes written. */
  sha256: string;
  bytes: number;
  entries: EntryCounts;
  /** Entries left out (sockets, names that are not UTF-8, files that vanished). */
  skipped: SkippedEntry[];
  /** Entries kept with a caveat (a file that changed size while it was read). */
  warnings: SkippedEntry[];
  /** Entries that carried extended attributes. */
  xattrEntries: number;
  /** Files with holes, archived as PAX 1.0 sparse entries (their holes are not stored). */
  sparseFiles: number;
}

/**
 * Read and write size. Measured (scripts/bench-archive.mjs): 256 KiB pieces with at most 2 MiB
 * queued on a stream cost a third less system time than 1 MiB / 8 MiB, as the data is still in
 * the CPU cache when it is hashed and written.
 */
const CHUNK = 256 * 1024;
/** Two zero blocks end a tar archive. */
const END_MARKER = 1024;

export function emptyCounts(): EntryCounts {
  return { files: 0, directories: 0, symlinks: 0, hardlinks: 0, characterDevices: 0, blockDevices: 0, fifos: 0 };
}

/**
 * Archives `sourceDir` into `target`, hashing as it streams. A stream is ended on success and
 * destroyed on failure; an open file (`{ fd }`, the archive step's way, see pack-sink.ts) is
 * written from this thread and left to the caller to sync and close.
 */
export async function packDirectory(sourceDir: string, target: PackTarget, options: PackOptions = {}): Promise<PackResult> {
  const result: PackResult = {
    sha256: '',
    bytes: 0,
    entries: emptyCounts(),
    skipped: [],
    warnings: [],
    xattrEntries: 0,
    sparseFiles: 0,
  };
  const xattrs = options.readXattrs ? await options.readXattrs(sourceDir) : new Map();
  const sink = sinkFor(target, CHUNK);
  const pool = new BufferPool(sink.reusableBuffers);
  // Hashed on a worker thread: the main thread's CPU is the limit of the archive's speed.
  const archive = new ArchiveOutput(sink, options.hash ?? new OffThreadSha256(), pool, options, result);
  try {
    await produce(archive, sourceDir, xattrs, pool, options, result);
    result.sha256 = await archive.end();
  } catch (error) {
    sink.abandon();
    if (error instanceof OutputFailure) {
      throw new ArchiveError('(archive output)', `could not be written: ${error.cause.message}`, 'Check free space and permissions where the archive is written, then retry.', {
        cause: error.cause,
      });
    }
    throw error;
  } finally {
    await archive.close();
  }
  return result;
}

/**
 * packDirectory into a new file (0600), written from this thread and closed before this returns.
 * `wx`: an existing name is refused, so a symlink planted there is never followed. The archive
 * step's way (inside writeFileDurably), and the archive bench's and tests'.
 */
export async function packIntoFile(sourceDir: string, file: string, options: PackOptions = {}): Promise<PackResult> {
  const output = await open(file, 'wx', 0o600);
  try {
    return await packDirectory(sourceDir, { fd: output.fd }, options);
  } finally {
    await output.close();
  }
}

/**
 * The archive's bytes: headers and file data go straight into CHUNK-sized buffers (a file is
 * read into the buffer where its header already is), each full buffer is hashed and written
 * as one write. The whole tree is packed in one loop, with no stream object per entry or per
 * chunk: their cost per entry and per chunk was most of the main thread's time (the limit of
 * the archive's speed).
 */
class ArchiveOutput {
  private buffer: Buffer;
  private filled = 0;

  constructor(
    private readonly sink: PackSink,
    private readonly hash: OffThreadSha256,
    private readonly pool: BufferPool,
    private readonly options: PackOptions,
    private readonly result: PackResult,
  ) {
    this.buffer = pool.take(CHUNK);
  }

  /** Copies bytes in (headers, sparse maps). */
  async put(data: Buffer): Promise<void> {
    let offset = 0;
    while (offset < data.length) {
      if (this.filled === CHUNK) await this.flush();
      const length = Math.min(CHUNK - this.filled, data.length - offset);
      data.copy(this.buffer, this.filled, offset, offset + length);
      this.filled += length;
      offset += length;
    }
  }

  async zeros(count: number): Promise<void> {
    let left = count;
    while (left > 0) {
      if (this.filled === CHUNK) await this.flush();
      const length = Math.min(CHUNK - this.filled, left);
      this.buffer.fill(0, this.filled, this.filled + length);
      this.filled += length;
      left -= length;
    }
  }

  /**
   * Reads at most `length` bytes of `fd` from `position` straight into the archive; the bytes
   * read (0 at the file's end). Synchronous on purpose: from the page cache a read takes
   * microseconds and saves a thread-pool round trip; the hashing runs on the worker meanwhile.
   */
  async read(fd: number, length: number, position: number): Promise<number> {
    if (this.filled === CHUNK) await this.flush();
    const bytesRead = readSync(fd, this.buffer, this.filled, Math.min(CHUNK - this.filled, length), position);
    this.filled += bytesRead;
    return bytesRead;
  }

  /** Every byte written and the output ended; the archive's sha256. */
  async end(): Promise<string> {
    await this.zeros(END_MARKER);
    await this.flush();
    await this.sink.end();
    return this.hash.digest();
  }

  async close(): Promise<void> {
    this.sink.detach();
    await this.hash.close();
  }

  private async flush(): Promise<void> {
    this.options.signal?.throwIfAborted();
    if (this.filled === 0) return;
    const chunk = this.filled === CHUNK ? this.buffer : this.buffer.subarray(0, this.filled);
    this.buffer = this.pool.take(CHUNK);
    this.filled = 0;
    await this.hash.update(chunk);
    this.result.bytes += chunk.length;
    const writing = this.sink.write(chunk, () => this.pool.give(chunk));
    this.options.onProgress?.(this.result.bytes);
    await writing;
  }
}

async function produce(archive: ArchiveOutput, root: string, xattrs: TreeXattrs, pool: BufferPool, options: PackOptions, result: PackResult): Promise<void> {
  const firstNames = new Map<string, string>();
  for (const entry of walkTreeSync(root, (skip) => result.skipped.push(skip))) {
    options.signal?.throwIfAborted();
    let fd: number | undefined;
    try {
      const content = openContent(entry, result);
      if (content === null) continue;
      fd = content;
      const header = headerFor(entry, firstNames, xattrs, result);
      if (header === undefined) continue;
      if (header.type === 'symlink') header.linkname = readlinkSync(entry.abs);
      const sparse = fd !== undefined && header.type === 'file' ? sparseLayout(entry, header, fd, pool, options.signal) : undefined;
      if (sparse) result.sparseFiles += 1;
      await emit(archive, entry, header, fd, result, sparse);
    } catch (error) {
      if (error instanceof ArchiveError || error instanceof OutputFailure || (error as Error).name === 'AbortError') throw error;
      throw new ArchiveError(entry.rel || '.', `could not be archived: ${(error as Error).message}`, 'Check that the directory is readable and not changing, then retry.', {
        cause: error,
      });
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }
}

/** Never follows a symlink at the last component, and never blocks on a FIFO swapped in. */
const NOFOLLOW_READ = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * Opens a regular file's content before its header is written (an unreadable file fails
 * cleanly), and makes sure it is the file the walk saw: a name swapped for a symlink, a FIFO or
 * another file between the walk's lstat and this open is left out (null) and reported, never
 * followed. Undefined when there is no content to read.
 */
function openContent(entry: WalkEntry, result: PackResult): number | null | undefined {
  if (!entry.stat.isFile() || entry.stat.size === 0n) return undefined;
  let fd: number;
  try {
    fd = openSync(entry.abs, NOFOLLOW_READ);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ELOOP' && code !== 'ENOENT') throw error;
    result.skipped.push({ path: entry.rel, reason: code === 'ELOOP' ? 'replaced by a symlink while the tree was read; not followed' : 'vanished while the tree was read' });
    return null;
  }
  const opened = fstatSync(fd, { bigint: true });
  if (sameFile(opened, entry.stat)) return fd;
  closeSync(fd);
  result.skipped.push({ path: entry.rel, reason: 'replaced by another file while the tree was read; not archived' });
  return null;
}

function sameFile(a: BigIntStats, b: BigIntStats): boolean {
  return a.isFile() && b.isFile() && a.dev === b.dev && a.ino === b.ino;
}

function headerFor(entry: WalkEntry, firstNames: Map<string, string>, xattrs: TreeXattrs, result: PackResult): TarHeader | undefined {
  const { stat, rel } = entry;
  const name = rel === '' ? './' : `./${rel}`;
  const pax: Record<string, string> = {};
  const header: TarHeader = {
    name,
    mode: Number(stat.mode) & 0o7777,
    uid: Number(stat.uid),
    gid: Number(stat.gid),
    mtime: ustarTime(stat.mtimeNs),
  };
  if (stat.isSocket()) {
    result.skipped.push({ path: rel, reason: 'sockets cannot be archived; the program that owns it recreates it' });
    return undefined;
  }
  if (!stat.isDirectory() && stat.nlink > 1n) {
    const key = `${stat.dev}:${stat.ino}`;
    const first = firstNames.get(key);
    if (first !== undefined) {
      result.entries.hardlinks += 1;
      return finish({ ...header, type: 'link', linkname: first, size: 0 }, pax, entry, xattrs, result);
    }
    firstNames.set(key, name);
  }
  if (stat.isDirectory()) {
    result.entries.directories += 1;
    return finish({ ...header, name: rel === '' ? './' : `${name}/`, type: 'directory' }, pax, entry, xattrs, result);
  }
  if (stat.isFile()) {
    result.entries.files += 1;
    const size = Number(stat.size);
    if (size > USTAR_SIZE_MAX) pax.size = String(size);
    return finish({ ...header, type: 'file', size }, pax, entry, xattrs, result);
  }
  if (stat.isSymbolicLink()) {
    result.entries.symlinks += 1;
    // The target is read when the entry is prepared (readlink); the header is completed then.
    return finish({ ...header, type: 'symlink' }, pax, entry, xattrs, result);
  }
  const { major, minor } = splitDev(stat.rdev);
  if (stat.isCharacterDevice()) {
    result.entries.characterDevices += 1;
    return finish({ ...header, type: 'character-device', devmajor: major, devminor: minor }, pax, entry, xattrs, result);
  }
  if (stat.isBlockDevice()) {
    result.entries.blockDevices += 1;
    return finish({ ...header, type: 'block-device', devmajor: major, devminor: minor }, pax, entry, xattrs, result);
  }
  if (stat.isFIFO()) {
    result.entries.fifos += 1;
    return finish({ ...header, type: 'fifo' }, pax, entry, xattrs, result);
  }
  result.skipped.push({ path: rel, reason: 'unknown kind of file' });
  return undefined;
}

function finish(header: TarHeader, pax: Record<string, string>, entry: WalkEntry, xattrs: TreeXattrs, result: PackResult): TarHeader {
  const { stat } = entry;
  const ns = stat.mtimeNs;
  // ustar holds whole seconds from 1970 to 2106 (tar-stream: to 2038); PAX carries the rest.
  if (ns % 1_000_000_000n !== 0n || ns < 0n || ns >= 2n ** 31n * 1_000_000_000n) pax.mtime = formatPaxTime(ns);
  if ((header.uid ?? 0) > USTAR_ID_MAX) pax.uid = String(header.uid);
  if ((header.gid ?? 0) > USTAR_ID_MAX) pax.gid = String(header.gid);
  const attrs = header.type === 'link' ? undefined : xattrs.get(entry.rel);
  if (attrs && attrs.size > 0) {
    result.xattrEntries += 1;
    for (const name of [...attrs.keys()].sort()) {
      const [key, value] = xattrPaxRecord(name, attrs.get(name) as Buffer);
      pax[key] = value;
    }
  }
  if (Object.keys(pax).length > 0) header.pax = pax;
  return header;
}

function ustarTime(ns: bigint): Date {
  const seconds = Number(ns / 1_000_000_000n);
  return new Date(Math.min(Math.max(seconds, 0), 2 ** 31 - 1) * 1000);
}

interface SparseLayout {
  map: Buffer;
  regions: Region[];
}

/**
 * For a file with holes: its data regions, and the header turned into a PAX 1.0 sparse one
 * (see sparse.ts) whose data is the map and the regions only. Undefined for other files.
 */
function sparseLayout(entry: WalkEntry, header: TarHeader, fd: number, pool: BufferPool, signal: AbortSignal | undefined): SparseLayout | undefined {
  if (!mayHaveHoles(entry.stat.size, entry.stat.blocks)) return undefined;
  const size = header.size ?? 0;
  const buffer = pool.take(CHUNK);
  const regions = dataRegions(fd, size, buffer, signal);
  pool.give(buffer);
  if (regions === undefined) return undefined;
  const map = encodeMap(regions, size);
  const stored = map.length + regions.reduce((sum, r) => sum + r.length, 0);
  const pax: Record<string, string> = { ...(header.pax ?? {}), ...sparseRecords(header.name, size) };
  delete pax.size;
  if (stored > USTAR_SIZE_MAX) pax.size = String(stored);
  Object.assign(header, { name: standInName(header.name), size: stored, pax });
  return { map, regions };
}

/** Writes one entry; `fd` is the file's content (opened by openContent), for files with any. */
async function emit(archive: ArchiveOutput, entry: WalkEntry, header: TarHeader, fd: number | undefined, result: PackResult, sparse?: SparseLayout): Promise<void> {
  await archive.put(encodeEntryHeader(header));
  const size = header.type === 'file' ? (header.size ?? 0) : 0;
  if (size === 0) return;
  if (fd === undefined) return archive.zeros(size + padTo(size));
  if (sparse) await writeSparseBody(archive, fd, sparse, entry.rel, result);
  else await writeBody(archive, fd, size, entry.rel, result);
  await archive.zeros(padTo(size));
}

/** Copies a file into the archive. */
async function writeBody(archive: ArchiveOutput, fd: number, size: number, rel: string, result: PackResult): Promise<void> {
  let position = 0;
  while (position < size) {
    const bytesRead = await archive.read(fd, size - position, position);
    if (bytesRead === 0) break;
    position += bytesRead;
  }
  if (position < size) {
    // The file shrank while it was read: pad so the archive stays well formed, and say so.
    result.warnings.push({ path: rel, reason: `shrank from ${size} to ${position} bytes while it was read; padded with zeros` });
    await archive.zeros(size - position);
  }
}

/** The map, then each data region read at its offset. */
async function writeSparseBody(archive: ArchiveOutput, fd: number, sparse: SparseLayout, rel: string, result: PackResult): Promise<void> {
  await archive.put(sparse.map);
  let shrankAt: number | undefined;
  for (const region of sparse.regions) {
    let done = 0;
    while (done < region.length) {
      const bytesRead = await archive.read(fd, region.length - done, region.offset + done);
      if (bytesRead === 0) {
        // Shrank since its holes were found: keep the archive well formed, and say so.
        shrankAt ??= region.offset + done;
        await archive.zeros(region.length - done);
        break;
      }
      done += bytesRead;
    }
  }
  if (shrankAt !== undefined) result.warnings.push({ path: rel, reason: `shrank while it was read; padded with zeros from byte ${shrankAt}` });
}

/**
 * Reuses the big read buffers once the output has written them: fresh 1 MiB buffers cost a
 * page fault per 4 KiB and a trip through the allocator. Small reads get their own buffers.
 */
class BufferPool {
  private readonly free: Buffer[] = [];
  private readonly owned = new WeakSet<ArrayBufferLike>();

  constructor(private readonly limit: number) {}

  take(length: number): Buffer {
    if (length < CHUNK || this.limit === 0) return Buffer.allocUnsafeSlow(length);
    const buffer = this.free.pop() ?? Buffer.allocUnsafeSlow(CHUNK);
    this.owned.add(buffer.buffer);
    return buffer;
  }

  /** Returns a chunk once written; chunks that are not the pool's own are ignored. */
  give(chunk: Buffer): void {
    if (!this.owned.has(chunk.buffer) || this.free.length >= this.limit) return;
    this.free.push(Buffer.from(chunk.buffer, 0, CHUNK));
  }
}

