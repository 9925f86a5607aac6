/**
 * Streams a directory tree into a tar archive (tar-stream, PAX where needed) and hashes the
 * bytes as they are written. Files are never held whole in memory: they are read in CHUNK
 * pieces, and at most OUTPUT_BUFFER bytes wait for the output.
 */
import { closeSync, constants, fstatSync, openSync, readSync, readlinkSync, WriteStream, type BigIntStats } from 'node:fs';
import type { Writable } from 'node:stream';
import { pack as createPack, type Pack } from 'tar-stream';
import { ArchiveError } from './errors.js';
import { OffThreadSha256 } from './off-thread-sha256.js';
import { dataRegions, encodeMap, mayHaveHoles, sparseRecords, standInName, type Region } from './sparse.js';
import { walkTree, type WalkEntry } from './walk.js';
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
 * Read size. Measured (scripts/bench-archive.mjs): 256 KiB reads with at most 2 MiB queued on
 * the output cost a third less system time than 1 MiB / 8 MiB, as the data is still in the
 * CPU cache when it is hashed and written.
 */
const CHUNK = 256 * 1024;
/** Chunks smaller than this are gathered into STAGE-sized writes. */
const SMALL_CHUNK = 64 * 1024;
const STAGE = 256 * 1024;
/** Bytes queued on the output before waiting for it to drain. */
const OUTPUT_BUFFER = 2 * 1024 * 1024;

export function emptyCounts(): EntryCounts {
  return { files: 0, directories: 0, symlinks: 0, hardlinks: 0, characterDevices: 0, blockDevices: 0, fifos: 0 };
}

/** Archives `sourceDir` into `output` (ended on success, destroyed on failure), hashing as it streams. */
export async function packDirectory(sourceDir: string, output: Writable, options: PackOptions = {}): Promise<PackResult> {
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
  const tar = createPack();
  tar.on('error', () => {}); // surfaces through the consumer's iteration
  // Only a file stream is known to be done with a chunk when its write callback runs (a
  // PassThrough, for one, still holds it): reuse buffers only then.
  const pool = new BufferPool(output instanceof WriteStream ? OUTPUT_BUFFER / CHUNK + 4 : 0);
  const consumer = consume(tar, output, pool, options, result);
  // A failing output stops the producer too (it may be waiting for the tar stream to drain),
  // and is what the caller hears about: the producer then only sees a destroyed stream.
  let outputError: Error | undefined;
  consumer.catch((error: Error) => {
    outputError = error;
    tar.destroy(error);
  });
  try {
    await produce(tar, sourceDir, xattrs, pool, options, result);
    tar.finalize();
    await consumer;
  } catch (error) {
    tar.destroy(error as Error);
    // The rejection carries the error: late errors of the destroyed output must not crash the process.
    output.on('error', () => {});
    output.destroy();
    await consumer.catch(() => {});
    // The consumer also fails with the producer's own error (the stream it destroyed): that
    // one is about the tree, not the output. A failed hash says what it is itself.
    if (outputError instanceof ArchiveError) throw outputError;
    if (outputError !== undefined && outputError !== error && (error as Error).name !== 'AbortError') {
      throw new ArchiveError('(archive output)', `could not be written: ${outputError.message}`, 'Check free space and permissions where the archive is written, then retry.', {
        cause: outputError,
      });
    }
    throw error;
  }
  return result;
}

async function consume(tar: Pack, output: Writable, pool: BufferPool, options: PackOptions, result: PackResult): Promise<void> {
  // Hashed on a worker thread: the main thread's CPU is the limit of the archive's speed.
  const hash = options.hash ?? new OffThreadSha256();
  let failure: Error | undefined;
  const onError = (error: Error) => (failure ??= error);
  output.on('error', onError);
  // Headers and small files arrive as many small chunks: gather them into one write.
  let staged: Buffer = Buffer.allocUnsafeSlow(STAGE);
  let stagedBytes = 0;
  const flush = () => {
    if (stagedBytes === 0) return;
    output.write(staged.subarray(0, stagedBytes));
    staged = Buffer.allocUnsafeSlow(STAGE);
    stagedBytes = 0;
  };
  try {
    for await (const chunk of tar as AsyncIterable<Buffer>) {
      if (failure) throw failure;
      await hash.update(chunk);
      result.bytes += chunk.length;
      if (chunk.length <= STAGE - stagedBytes && chunk.length < SMALL_CHUNK) {
        chunk.copy(staged, stagedBytes);
        stagedBytes += chunk.length;
        continue;
      }
      flush();
      if (chunk.length < SMALL_CHUNK) {
        chunk.copy(staged, 0);
        stagedBytes = chunk.length;
        continue;
      }
      output.write(chunk, () => pool.give(chunk));
      if (output.writableLength > Math.max(OUTPUT_BUFFER, output.writableHighWaterMark)) await drained(output);
      options.onProgress?.(result.bytes);
    }
    flush();
    options.onProgress?.(result.bytes);
    if (failure) throw failure;
    await new Promise<void>((resolve, reject) => {
      output.once('error', reject);
      output.end(() => resolve());
    });
    result.sha256 = await hash.digest();
  } finally {
    output.off('error', onError);
    await hash.close();
  }
}

function drained(stream: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (error?: Error) => {
      stream.off('drain', onDrain);
      stream.off('error', done);
      stream.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(new Error('output closed before the archive was written'));
    stream.on('drain', onDrain);
    stream.on('error', done);
    stream.on('close', onClose);
  });
}

async function produce(tar: Pack, root: string, xattrs: TreeXattrs, pool: BufferPool, options: PackOptions, result: PackResult): Promise<void> {
  const firstNames = new Map<string, string>();
  for await (const entry of walkTree(root, (skip) => result.skipped.push(skip))) {
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
      await emit(tar, entry, header, fd, pool, result, options.signal, sparse);
    } catch (error) {
      if (error instanceof ArchiveError || (error as Error).name === 'AbortError') throw error;
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
async function emit(
  tar: Pack,
  entry: WalkEntry,
  header: TarHeader,
  fd: number | undefined,
  pool: BufferPool,
  result: PackResult,
  signal: AbortSignal | undefined,
  sparse?: SparseLayout,
): Promise<void> {
  const size = header.type === 'file' ? (header.size ?? 0) : 0;
  await new Promise<void>((resolve, reject) => {
    const sink = tar.entry(header as Parameters<Pack['entry']>[0], (error?: Error | null) => (error ? reject(error) : resolve())) as unknown as EntrySink;
    sink.on('error', () => {}); // surfaces through the entry callback
    if (header.type !== 'file') return;
    if (fd === undefined || size === 0) return sink.end();
    const body = sparse ? writeSparseBody(sink, fd, sparse, entry.rel, pool, result, signal) : writeBody(sink, fd, size, entry.rel, pool, result, signal);
    body.then(
      () => sink.end(),
      (error: Error) => {
        sink.destroy(error);
        reject(error);
      },
    );
  });
}

/**
 * Copies a file into the entry. Reads are synchronous on purpose: from the page cache they
 * take microseconds, they save a thread-pool round trip per read, and the output's writes
 * still run on the thread pool meanwhile, so reading and writing overlap.
 */
async function writeBody(sink: EntrySink, fd: number, size: number, rel: string, pool: BufferPool, result: PackResult, signal: AbortSignal | undefined): Promise<void> {
  let position = 0;
  while (position < size) {
    signal?.throwIfAborted();
    const buffer = pool.take(Math.min(CHUNK, size - position));
    const bytesRead = readSync(fd, buffer, 0, buffer.length, position);
    if (bytesRead === 0) {
      pool.give(buffer);
      break;
    }
    position += bytesRead;
    if (!sink.write(bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead))) await sinkDrained(sink);
  }
  if (position < size) {
    // The file shrank while it was read: pad so the archive stays well formed, and say so.
    result.warnings.push({ path: rel, reason: `shrank from ${size} to ${position} bytes while it was read; padded with zeros` });
    while (position < size) {
      const zeros = Buffer.alloc(Math.min(CHUNK, size - position));
      position += zeros.length;
      if (!sink.write(zeros)) await sinkDrained(sink);
    }
  }
}

/** The map, then each data region read at its offset. */
async function writeSparseBody(sink: EntrySink, fd: number, sparse: SparseLayout, rel: string, pool: BufferPool, result: PackResult, signal: AbortSignal | undefined): Promise<void> {
  if (!sink.write(sparse.map)) await sinkDrained(sink);
  let shrankAt: number | undefined;
  for (const region of sparse.regions) {
    let done = 0;
    while (done < region.length) {
      signal?.throwIfAborted();
      const buffer = pool.take(Math.min(CHUNK, region.length - done));
      const bytesRead = readSync(fd, buffer, 0, buffer.length, region.offset + done);
      const chunk = bytesRead === buffer.length ? buffer : Buffer.alloc(buffer.length);
      if (bytesRead !== buffer.length) {
        // Shrank since its holes were found: keep the archive well formed, and say so.
        buffer.copy(chunk, 0, 0, bytesRead);
        pool.give(buffer);
        shrankAt ??= region.offset + done + bytesRead;
      }
      done += chunk.length;
      if (!sink.write(chunk)) await sinkDrained(sink);
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

/** The part of tar-stream's (streamx) entry sink used here. */
interface EntrySink {
  write(data: Buffer): boolean;
  end(): void;
  destroy(error?: Error): void;
  on(event: 'error', listener: (error: Error) => void): unknown;
  once(event: 'drain' | 'error', listener: (error: Error) => void): unknown;
  off(event: 'drain' | 'error', listener: (error: Error) => void): unknown;
}

function sinkDrained(sink: EntrySink): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      sink.off('error', onError);
      resolve();
    };
    const onError = (error: Error) => {
      sink.off('drain', onDrain);
      reject(error);
    };
    sink.once('drain', onDrain);
    sink.once('error', onError);
  });
}
