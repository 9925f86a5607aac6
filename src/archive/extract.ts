/**
 * Restores a tar archive into a directory, refusing anything that could write outside it, and
 * hashes the input as it streams.
 *
 * How nothing escapes the target:
 * - names are checked first (no NUL, no absolute path, no '..'), see entry-path.ts;
 * - every parent directory of an entry is one this extraction created or found as a real
 *   directory (lstat), never a symlink; parents are created with mkdir, which never follows;
 * - symlinks are created only at the end, after every other entry, so no entry can be written
 *   through one; an entry whose parent is (to be) a symlink is refused;
 * - files are created with O_CREAT|O_EXCL|O_NOFOLLOW: an existing name is never opened;
 * - a hard link must name an entry extracted earlier by this archive; one to a symlink is
 *   checked from where it lands (a relative target reads differently from another directory);
 * - owner, mode and times are set through descriptors (O_NOFOLLOW, O_PATH), never by a name
 *   that could have become a symlink meanwhile;
 * - device nodes only with `allowDevices` and as root.
 * Absolute symlink targets are kept as they are (inside a container they name the container's
 * files); relative ones that climb above the target are refused. This assumes nothing else
 * changes the target while it is restored.
 */
import { chmodSync, chownSync, closeSync, constants, fchmodSync, fchownSync, fstatSync, ftruncateSync, futimesSync, linkSync, mkdirSync, openSync, symlinkSync, utimesSync, writevSync } from 'node:fs';
import { lchown, lstat, lutimes, realpath } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { extract as createExtract, type Extract } from 'tar-stream';
import { OffThreadSha256 } from './off-thread-sha256.js';
import { ArchiveError, UnsafeArchiveError } from './errors.js';
import { parentsOf, resolveSymlink, safeRelativePath } from './entry-path.js';
import { emptyCounts, type EntryCounts, type SkippedEntry } from './pack.js';
import { BackgroundWrites, skipBytes } from './background-writes.js';
import { checkMap, SparseMapReader, type Region } from './sparse.js';
import { parsePaxTime, xattrsFromPax, type TarHeader } from './tar-format.js';
import type { TreeXattrs, XattrWriter } from './xattr.js';

export interface SpecialNode {
  kind: 'fifo' | 'character-device' | 'block-device';
  /** Permission bits (the caller's mknod applies them; they are set again afterwards). */
  mode: number;
  major: number;
  minor: number;
}

/** Creates a FIFO or device node at an absolute path (Node has no mknod; src/host runs `mknod`). */
export type NodeMaker = (absolutePath: string, node: SpecialNode) => Promise<void>;

export interface ExtractOptions {
  /** Create character and block devices (only honoured when running as root). Default false. */
  allowDevices?: boolean;
  /** Called with the archive bytes read so far. */
  onProgress?(bytes: number): void;
  /** Restore uid/gid. Default: true when running as root. */
  preserveOwner?: boolean;
  signal?: AbortSignal;
  /** 'keep' (default): absolute symlink targets are restored as they are; 'refuse': refused. */
  absoluteSymlinks?: 'keep' | 'refuse';
  /** Needed to restore FIFOs and devices; without it they are skipped and reported. */
  makeNode?: NodeMaker;
  /** Needed to restore extended attributes; without it they are reported as not restored. */
  writeXattrs?: XattrWriter;
  /** When given, a different sha256 of the input fails the extraction (after it ran). */
  expectedSha256?: string;
}

export interface ExtractResult {
  /** Hex sha256 of every input byte read. */
  sha256: string;
  bytes: number;
  entries: EntryCounts;
  /** Entries not restored (FIFOs or devices without makeNode, unsupported xattr values). */
  skipped: SkippedEntry[];
  warnings: SkippedEntry[];
  /** Entries whose extended attributes were restored. */
  xattrEntries: number;
}

interface Meta {
  mode: number;
  uid: number;
  gid: number;
  mtimeNs: bigint;
  atimeNs: bigint;
}

interface State {
  root: string;
  options: ExtractOptions;
  preserveOwner: boolean;
  result: ExtractResult;
  /** Real directories known to be inside the target, with the archive's metadata if it had an entry. */
  dirs: Map<string, Meta | undefined>;
  /** Non-directory entries created by this extraction. */
  nodes: Map<string, 'file' | 'symlink' | 'other'>;
  symlinks: Map<string, { entry: string; target: string; meta: Meta }>;
  deferredLinks: { entry: string; rel: string; target: string }[];
  xattrs: TreeXattrs;
  lastEntry: string | undefined;
  /** Files' data being written on the thread pool. */
  writes: BackgroundWrites;
}

/** Largest PAX or GNU long-name header tar-stream accepts (its own cap). */
const MAX_HEADER = '4 MiB';
/** Bytes of file data gathered before one write. */
const WRITE_BATCH = 1024 * 1024;
/** Two zero blocks end a tar archive. */
const END_MARKER = 1024;
const NOFOLLOW_CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
/** A directory's metadata is set through a descriptor of the directory itself, never through a name that could have become a symlink. */
const NOFOLLOW_DIRECTORY = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
/**
 * Linux O_PATH (x86-64, arm64; Node does not export it): a handle on a FIFO or device node
 * without opening it (opening one can block or act on the device).
 */
const O_PATH = 0o10000000;

/** Restores the tar archive read from `input` into `targetDir`; refuses unsafe entries (UnsafeArchiveError). */
export async function extractArchive(input: Readable, targetDir: string, options: ExtractOptions = {}): Promise<ExtractResult> {
  const root = await realpath(targetDir);
  if (!(await lstat(root)).isDirectory()) throw new ArchiveError('.', `${targetDir} is not a directory`, 'Give an existing, empty directory as the target.');
  const state: State = {
    root,
    options,
    preserveOwner: options.preserveOwner ?? process.getuid?.() === 0,
    result: { sha256: '', bytes: 0, entries: emptyCounts(), skipped: [], warnings: [], xattrEntries: 0 },
    dirs: new Map([['', undefined]]),
    nodes: new Map(),
    symlinks: new Map(),
    deferredLinks: [],
    xattrs: new Map(),
    lastEntry: undefined,
    writes: new BackgroundWrites(restoreFailure),
  };
  const tar = createExtract();
  // Hashed on a worker thread, beside the main thread's parsing and writing.
  const hash = new OffThreadSha256();
  const feeding = feed(input, tar, hash, state);
  feeding.catch(() => {});
  try {
    for await (const entry of tar) {
      options.signal?.throwIfAborted();
      const header = entry.header as unknown as TarHeader;
      state.lastEntry = header.name;
      await restoreEntry(state, header, entry as unknown as AsyncIterable<Buffer> & { resume(): void });
    }
    await feeding;
    await state.writes.settled();
    await finishTree(state);
    state.result.sha256 = await hash.digest();
  } catch (error) {
    input.destroy();
    tar.destroy();
    // No write may land after the caller hears of the failure (and cleans up).
    await state.writes.quiet();
    throw translate(error, state);
  } finally {
    await hash.close();
  }
  if (options.expectedSha256 !== undefined && options.expectedSha256 !== state.result.sha256) {
    throw new ArchiveError('(whole archive)', `sha256 is ${state.result.sha256}, expected ${options.expectedSha256}`, 'The archive changed since it was written; restore from another copy.');
  }
  return state.result;
}

/**
 * How much of an archive file to read at a time (the read stream's highWaterMark). Measured on
 * a 1 GB tree of 1 MB and small files: 1 MiB reads took about a tenth less CPU than the stream's
 * default 64 KiB (fewer chunks to parse, hash and hand on), for some 15 MB more peak RSS.
 * scripts/bench-archive.mjs reads the same way, so its restore figure is the restore step's.
 */
export const ARCHIVE_READ_BYTES = 1024 * 1024;

async function feed(input: Readable, tar: Extract, hash: OffThreadSha256, state: State): Promise<void> {
  // tar-stream accepts an archive cut off between two entries; the end-of-archive marker
  // (two zero blocks) tells a complete archive from a truncated one.
  let tail: Buffer = Buffer.alloc(0);
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      await hash.update(chunk);
      state.result.bytes += chunk.length;
      state.options.onProgress?.(state.result.bytes);
      tail = chunk.length >= END_MARKER ? chunk.subarray(chunk.length - END_MARKER) : Buffer.concat([tail, chunk]).subarray(-END_MARKER);
      if (!tar.write(chunk)) await drained(tar);
    }
    if (tail.length < END_MARKER || tail.some((byte) => byte !== 0)) {
      throw new ArchiveError('(end of archive)', 'the archive is truncated: it has no end-of-archive marker', 'The archive was not completely written; restore from another copy.');
    }
    tar.end(undefined);
  } catch (error) {
    tar.destroy(error as Error);
    throw error;
  }
}

function drained(tar: Extract): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      tar.off('close', onClose);
      resolve();
    };
    const onClose = () => {
      tar.off('drain', onDrain);
      reject(new Error('extraction stopped'));
    };
    tar.once('drain', onDrain);
    tar.once('close', onClose);
  });
}

function translate(error: unknown, state: State): unknown {
  if (error instanceof ArchiveError || (error as Error)?.name === 'AbortError') return error;
  const message = (error as Error)?.message ?? String(error);
  const where = state.lastEntry === undefined ? 'header at the start of the archive' : `header after ${JSON.stringify(state.lastEntry)}`;
  if (message === 'Header exceeds max size') return new UnsafeArchiveError(where, `an extended (PAX or long-name) header is larger than ${MAX_HEADER}`);
  if (/Invalid tar header|Unexpected end of data|Invalid header/.test(message)) {
    return new ArchiveError(where, `the archive is damaged: ${message}`, 'Restore from another copy of the archive.', { cause: error });
  }
  return new ArchiveError(state.lastEntry ?? '(archive)', `could not be restored: ${message}`, 'Check free space and permissions of the target, then retry.', { cause: error });
}

function metaOf(header: TarHeader): Meta {
  const pax = header.pax ?? {};
  const mtimeNs = (pax.mtime !== undefined ? parsePaxTime(pax.mtime) : undefined) ?? BigInt(header.mtime?.getTime() ?? 0) * 1_000_000n;
  const atimeNs = (pax.atime !== undefined ? parsePaxTime(pax.atime) : undefined) ?? mtimeNs;
  const uid = pax.uid !== undefined ? Number(pax.uid) : (header.uid ?? 0);
  const gid = pax.gid !== undefined ? Number(pax.gid) : (header.gid ?? 0);
  return { mode: (header.mode ?? 0) & 0o7777, uid, gid, mtimeNs, atimeNs };
}

async function restoreEntry(state: State, header: TarHeader, body: AsyncIterable<Buffer> & { resume(): void }): Promise<void> {
  const pax = header.pax ?? {};
  const sparse = sparseOf(header, pax);
  // A sparse file's header names a stand-in (GNUSparseFile.0/…): its real name is in the PAX records.
  const entry = sparse?.name ?? header.name;
  const rel = safeRelativePath(entry);
  const meta = metaOf(header);
  collectXattrs(state, rel, pax);
  if (header.type === 'directory') {
    body.resume();
    return restoreDirectory(state, entry, rel, meta);
  }
  if (rel === '') throw new UnsafeArchiveError(entry, 'the archive root must be a directory');
  await ensureParents(state, entry, rel);
  refuseDuplicate(state, entry, rel);
  switch (header.type) {
    case 'file':
    case 'contiguous-file':
      state.result.entries.files += 1;
      if (sparse) return restoreSparseFile(state, entry, rel, meta, body, sparse.realSize, header.size ?? 0);
      return restoreFile(state, entry, rel, meta, body);
    case 'symlink':
      body.resume();
      return deferSymlink(state, entry, rel, header.linkname ?? '', meta);
    case 'link':
      body.resume();
      return restoreHardLink(state, entry, rel, header.linkname ?? '');
    case 'character-device':
    case 'block-device':
    case 'fifo':
      body.resume();
      return restoreNode(state, entry, rel, header, meta);
    default:
      throw new UnsafeArchiveError(entry, `unsupported entry type ${JSON.stringify(header.type ?? 'unknown')}`);
  }
}

function collectXattrs(state: State, rel: string, pax: Record<string, string>): void {
  const { xattrs, lossy } = xattrsFromPax(pax);
  for (const name of lossy) state.result.skipped.push({ path: rel, reason: `extended attribute ${name}: binary value not representable in this archive's SCHILY record` });
  if (xattrs.size > 0) state.xattrs.set(rel, xattrs);
}

async function restoreDirectory(state: State, entry: string, rel: string, meta: Meta): Promise<void> {
  state.result.entries.directories += 1;
  if (rel !== '') {
    await ensureParents(state, entry, rel);
    if (!state.dirs.has(rel)) {
      if (state.nodes.has(rel) || state.symlinks.has(rel)) throw new UnsafeArchiveError(entry, 'a non-directory entry of that name was already restored');
      await makeDirectory(state, entry, rel);
    }
  }
  state.dirs.set(rel, meta);
}

/** Makes sure every parent of `rel` is a real directory inside the target, creating missing ones. */
async function ensureParents(state: State, entry: string, rel: string): Promise<void> {
  for (const parent of parentsOf(rel)) {
    if (state.dirs.has(parent)) continue;
    if (state.symlinks.has(parent)) throw new UnsafeArchiveError(entry, `its path goes through the symlink ${JSON.stringify(parent)}`);
    if (state.nodes.has(parent)) throw new UnsafeArchiveError(entry, `its parent ${JSON.stringify(parent)} is not a directory`);
    await makeDirectory(state, entry, parent);
    if (!state.dirs.has(parent)) state.dirs.set(parent, undefined);
  }
}

async function makeDirectory(state: State, entry: string, rel: string): Promise<void> {
  try {
    // Owner-only until finishTree applies the real mode, so nobody else writes meanwhile.
    mkdirSync(path.join(state.root, rel), 0o700);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    // Something was there before the extraction: accept a real directory, nothing else.
    const existing = await lstat(path.join(state.root, rel));
    if (!existing.isDirectory()) {
      const kind = existing.isSymbolicLink() ? 'symlink' : 'non-directory';
      throw new UnsafeArchiveError(entry, `${JSON.stringify(rel)} already exists in the target as a ${kind}`);
    }
  }
  if (!state.dirs.has(rel)) state.dirs.set(rel, undefined);
}

/** Refuses a name this extraction already used; names found in the target fail with EEXIST when created. */
function refuseDuplicate(state: State, entry: string, rel: string): void {
  if (state.dirs.has(rel) || state.nodes.has(rel) || state.symlinks.has(rel)) {
    throw new UnsafeArchiveError(entry, 'an entry of that name was already restored (duplicate entries are not replaced)');
  }
}

/** What a file's failed creation or write (on the thread pool) fails the extraction with. */
function restoreFailure(entry: string, error: unknown): unknown {
  if (error instanceof ArchiveError) return error;
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === 'EEXIST' || code === 'ELOOP') return new UnsafeArchiveError(entry, 'the name already exists in the target (it is never overwritten)');
  return new ArchiveError(entry, `could not be restored: ${(error as Error)?.message ?? String(error)}`, 'Check free space and permissions of the target, then retry.', { cause: error });
}

/** Runs a creating call; an existing name (EEXIST) becomes a refusal: nothing is ever overwritten. */
function creating<T>(entry: string, create: () => T): T {
  try {
    return create();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ELOOP') throw new UnsafeArchiveError(entry, 'the name already exists in the target (it is never overwritten)');
    throw error;
  }
}

/**
 * Writes one file: its creation and metadata here, its data on the thread pool (see
 * BackgroundWrites), so that the next entries are read and created meanwhile. Its metadata is
 * set, and it is closed, once its data is written.
 */
async function restoreFile(state: State, entry: string, rel: string, meta: Meta, body: AsyncIterable<Buffer>): Promise<void> {
  await state.writes.fileRoom();
  const file = state.writes.create(path.join(state.root, rel), NOFOLLOW_CREATE, 0o600);
  state.nodes.set(rel, 'file');
  const writes: Promise<void>[] = [];
  let complete = false;
  try {
    let batch: Buffer[] = [];
    let batchBytes = 0;
    let position = 0;
    for await (const chunk of body) {
      batch.push(chunk);
      batchBytes += chunk.length;
      if (batchBytes >= WRITE_BATCH) {
        await state.writes.room();
        writes.push(state.writes.write(file, batch, position));
        position += batchBytes;
        batch = [];
        batchBytes = 0;
      }
    }
    if (batchBytes > 0) {
      await state.writes.room();
      writes.push(state.writes.write(file, batch, position));
    }
    complete = true;
  } finally {
    const finish = (fd: number) => {
      // chown before chmod: chown clears setuid/setgid bits.
      if (state.preserveOwner) fchownSync(fd, meta.uid, meta.gid);
      fchmodSync(fd, meta.mode);
      futimesSync(fd, seconds(meta.atimeNs), seconds(meta.mtimeNs));
    };
    state.writes.finishLater(entry, file, writes, complete ? finish : undefined);
  }
}

/** The real name and size of a PAX 1.0 sparse entry (see sparse.ts); other GNU sparse formats are refused. */
function sparseOf(header: TarHeader, pax: Record<string, string>): { name: string; realSize: number } | undefined {
  if (!Object.keys(pax).some((key) => key.startsWith('GNU.sparse.'))) return undefined;
  const name = pax['GNU.sparse.name'];
  const realSize = Number(pax['GNU.sparse.realsize']);
  if (pax['GNU.sparse.major'] !== '1' || pax['GNU.sparse.minor'] !== '0' || name === undefined || !Number.isSafeInteger(realSize) || realSize < 0) {
    throw new ArchiveError(header.name, 'only the PAX 1.0 format of GNU sparse files is supported', 'Create the archive with GNU tar --format=posix --sparse (format 1.0, the default).');
  }
  if (header.type !== 'file' && header.type !== 'contiguous-file') throw new UnsafeArchiveError(header.name, 'sparse records on an entry that is no file');
  return { name, realSize };
}

/**
 * Writes a sparse file: only its data regions are written, each at its offset, and the file
 * is then cut to its real size, so the holes stay holes (nothing is written there).
 */
async function restoreSparseFile(state: State, entry: string, rel: string, meta: Meta, body: AsyncIterable<Buffer>, realSize: number, entryBytes: number): Promise<void> {
  const fd = creating(entry, () => openSync(path.join(state.root, rel), NOFOLLOW_CREATE, 0o600));
  state.nodes.set(rel, 'file');
  const fail = (reason: string): never => {
    throw new UnsafeArchiveError(entry, reason);
  };
  try {
    const reader = new SparseMapReader(fail);
    let regions: Region[] | undefined;
    let index = 0;
    let within = 0;
    const write = (data: Buffer) => {
      let rest = data;
      while (rest.length > 0) {
        const region = (regions as Region[])[index];
        if (region === undefined) return fail('it has more data than its sparse map describes');
        const take = Math.min(rest.length, region.length - within);
        if (take > 0) writeAll(fd, [rest.subarray(0, take)], region.offset + within);
        rest = rest.subarray(take);
        within += take;
        if (within === region.length) {
          index += 1;
          within = 0;
        }
      }
    };
    for await (const chunk of body) {
      if (regions !== undefined) {
        write(chunk);
        continue;
      }
      const parsed = reader.push(chunk);
      if (parsed === undefined) continue;
      regions = parsed.regions.filter((r) => r.length > 0);
      checkMap(regions, realSize, entryBytes - parsed.mapBytes, fail);
      write(parsed.rest);
    }
    if (regions === undefined) fail('its sparse map is cut off');
    if (index < (regions as Region[]).length) fail('it has less data than its sparse map describes');
    ftruncateSync(fd, realSize);
    if (state.preserveOwner) fchownSync(fd, meta.uid, meta.gid);
    fchmodSync(fd, meta.mode);
    futimesSync(fd, seconds(meta.atimeNs), seconds(meta.mtimeNs));
  } finally {
    closeSync(fd);
  }
}

function writeAll(fd: number, buffers: Buffer[], position: number): void {
  let pending = buffers;
  let at = position;
  while (pending.length > 0) {
    const written = writevSync(fd, pending, at);
    at += written;
    pending = skipBytes(pending, written);
  }
}

/**
 * Seconds for utimes: libuv keeps whole microseconds, truncating, and at today's epoch a double
 * is only about 0.24 µs fine, so x.418180 could land at x.4181799… and come back as x.418179.
 * Half a microsecond up makes the truncation land on the intended microsecond.
 */
function seconds(ns: bigint): number {
  // (Before 1970 the fraction is negative, and so is the nudge: libuv truncates toward zero.)
  return Number(ns / 1_000_000_000n) + (Number((ns % 1_000_000_000n) / 1000n) + (ns < 0n ? -0.5 : 0.5)) / 1e6;
}

function deferSymlink(state: State, entry: string, rel: string, target: string, meta: Meta): void {
  if (target === '') throw new UnsafeArchiveError(entry, 'symlink without a target');
  if (target.includes('\0')) throw new UnsafeArchiveError(entry, 'the symlink target contains a NUL byte');
  checkSymlinkTarget(state, entry, rel, target);
  state.result.entries.symlinks += 1;
  state.symlinks.set(rel, { entry, target, meta });
}

function checkSymlinkTarget(state: State, entry: string, rel: string, target: string): void {
  if (target.startsWith('/') && state.options.absoluteSymlinks === 'refuse') {
    throw new UnsafeArchiveError(entry, `the symlink target ${JSON.stringify(target)} is absolute`);
  }
  const targets = new Map([...state.symlinks].map(([key, value]) => [key, value.target]));
  const resolution = resolveSymlink(rel, target, targets);
  if (resolution.kind === 'outside') throw new UnsafeArchiveError(entry, `the symlink target ${JSON.stringify(target)} resolves outside the target directory`);
  if (resolution.kind === 'absolute' && state.options.absoluteSymlinks === 'refuse') {
    throw new UnsafeArchiveError(entry, `the symlink target ${JSON.stringify(target)} leads to an absolute path`);
  }
}

async function restoreHardLink(state: State, entry: string, rel: string, linkname: string): Promise<void> {
  const target = safeRelativePath(linkname, entry, 'hard link target');
  const kind = state.nodes.get(target);
  // Symlinks (and links to them) exist only at the end: link to them then.
  if ((kind === undefined && state.symlinks.has(target)) || kind === 'symlink') {
    state.result.entries.hardlinks += 1;
    state.nodes.set(rel, 'symlink');
    state.deferredLinks.push({ entry, rel, target });
    return;
  }
  if (kind === undefined) {
    const why = state.dirs.has(target) ? 'is a directory' : 'was not restored earlier from this archive';
    throw new UnsafeArchiveError(entry, `the hard link target ${JSON.stringify(linkname)} ${why}`);
  }
  await state.writes.created(); // the target may still be being created on the thread pool
  creating(entry, () => linkSync(path.join(state.root, target), path.join(state.root, rel)));
  state.result.entries.hardlinks += 1;
  state.nodes.set(rel, kind);
}

async function restoreNode(state: State, entry: string, rel: string, header: TarHeader, meta: Meta): Promise<void> {
  const kind = header.type as 'fifo' | 'character-device' | 'block-device';
  if (kind !== 'fifo') {
    if (!state.options.allowDevices) throw new UnsafeArchiveError(entry, `${kind} nodes are not restored unless allowDevices is set`);
    if (process.getuid?.() !== 0) throw new UnsafeArchiveError(entry, `${kind} nodes are restored only as root`);
  }
  if (!state.options.makeNode) {
    state.result.skipped.push({ path: rel, reason: `${kind}: no makeNode helper was given` });
    return;
  }
  const abs = path.join(state.root, rel);
  if (await lstat(abs).then(() => true, () => false)) throw new UnsafeArchiveError(entry, 'the name already exists in the target (it is never overwritten)');
  await state.options.makeNode(abs, { kind, mode: meta.mode, major: header.devmajor ?? 0, minor: header.devminor ?? 0 });
  // The check and the metadata act on one handle: a name swapped for a symlink meanwhile is refused, never followed.
  const fd = creatingNode(entry, abs);
  try {
    const made = fstatSync(fd);
    const expected = kind === 'fifo' ? made.isFIFO() : kind === 'character-device' ? made.isCharacterDevice() : made.isBlockDevice();
    if (!expected) throw new ArchiveError(entry, `makeNode did not create a ${kind}`, 'Check the mknod helper.');
    state.nodes.set(rel, 'other');
    if (kind === 'fifo') state.result.entries.fifos += 1;
    else if (kind === 'character-device') state.result.entries.characterDevices += 1;
    else state.result.entries.blockDevices += 1;
    // An O_PATH handle takes no fchmod; /proc/self/fd/N names exactly the inode it holds.
    const handle = `/proc/self/fd/${fd}`;
    if (state.preserveOwner) chownSync(handle, meta.uid, meta.gid);
    chmodSync(handle, meta.mode);
    utimesSync(handle, seconds(meta.atimeNs), seconds(meta.mtimeNs));
  } finally {
    closeSync(fd);
  }
}

function creatingNode(entry: string, abs: string): number {
  try {
    return openSync(abs, O_PATH | constants.O_NOFOLLOW);
  } catch (error) {
    throw new ArchiveError(entry, `the node made by makeNode cannot be opened: ${(error as Error).message}`, 'Check the mknod helper.', { cause: error });
  }
}

/** After every entry: symlinks (checked against the whole archive), then xattrs, then directories' metadata, deepest first. */
async function finishTree(state: State): Promise<void> {
  const targets = new Map([...state.symlinks].map(([key, value]) => [key, value.target]));
  for (const [rel, { entry, target }] of state.symlinks) {
    const resolution = resolveSymlink(rel, target, targets);
    if (resolution.kind === 'outside') throw new UnsafeArchiveError(entry, `the symlink target ${JSON.stringify(target)} resolves outside the target directory (through other symlinks)`);
    if (resolution.kind === 'absolute' && state.options.absoluteSymlinks === 'refuse') {
      throw new UnsafeArchiveError(entry, `the symlink target ${JSON.stringify(target)} leads to an absolute path (through other symlinks)`);
    }
  }
  checkDeferredLinks(state, targets);
  for (const [rel, { entry, target, meta }] of state.symlinks) {
    const abs = path.join(state.root, rel);
    creating(entry, () => symlinkSync(target, abs));
    if (state.preserveOwner) await lchown(abs, meta.uid, meta.gid);
    await lutimes(abs, seconds(meta.atimeNs), seconds(meta.mtimeNs));
  }
  for (const { entry, rel, target } of state.deferredLinks) creating(entry, () => linkSync(path.join(state.root, target), path.join(state.root, rel)));
  await restoreXattrs(state);
  const dirs = [...state.dirs].sort(([a], [b]) => depth(b) - depth(a));
  for (const [rel, meta] of dirs) {
    if (meta === undefined && rel === '') continue;
    withDirectory(state, rel, (fd) => {
      if (meta === undefined) return fchmodSync(fd, 0o755);
      if (state.preserveOwner) fchownSync(fd, meta.uid, meta.gid);
      fchmodSync(fd, meta.mode);
      futimesSync(fd, seconds(meta.atimeNs), seconds(meta.mtimeNs));
    });
  }
}

/**
 * A hard link to a symlink is the same symlink at another place: its target is read from
 * there, so a relative target that stays inside from a deep directory can climb out from a
 * shallower one. Each such link is checked where it will be, with every symlink of the archive.
 */
function checkDeferredLinks(state: State, targets: Map<string, string>): void {
  const linked = new Map<string, string>();
  const targetOf = (rel: string): string | undefined => targets.get(rel) ?? linked.get(rel);
  for (const { entry, rel, target } of state.deferredLinks) {
    const symlinkTarget = targetOf(target);
    if (symlinkTarget === undefined) throw new UnsafeArchiveError(entry, `the hard link target ${JSON.stringify(target)} is not a symlink restored from this archive`);
    linked.set(rel, symlinkTarget);
  }
  const all = new Map([...targets, ...linked]);
  for (const { entry, rel } of state.deferredLinks) {
    const symlinkTarget = all.get(rel) as string;
    const resolution = resolveSymlink(rel, symlinkTarget, all);
    if (resolution.kind === 'outside') throw new UnsafeArchiveError(entry, `a hard link to a symlink to ${JSON.stringify(symlinkTarget)}: from ${JSON.stringify(rel)} it resolves outside the target directory`);
    if (resolution.kind === 'absolute' && state.options.absoluteSymlinks === 'refuse') {
      throw new UnsafeArchiveError(entry, `a hard link to a symlink to ${JSON.stringify(symlinkTarget)}: from ${JSON.stringify(rel)} it leads to an absolute path`);
    }
  }
  // Plain symlinks may also lead through these links: check them again with the full map.
  for (const [rel, { entry, target }] of state.symlinks) {
    if (resolveSymlink(rel, target, all).kind === 'outside') throw new UnsafeArchiveError(entry, `the symlink target ${JSON.stringify(target)} resolves outside the target directory (through other symlinks)`);
  }
}

/** Runs `apply` on a descriptor of the directory `rel`; a directory replaced by anything else meanwhile is refused, never followed. */
function withDirectory(state: State, rel: string, apply: (fd: number) => void): void {
  let fd: number;
  try {
    fd = openSync(path.join(state.root, rel), NOFOLLOW_DIRECTORY);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'ENOTDIR' || code === 'ENOENT') {
      throw new UnsafeArchiveError(rel === '' ? '.' : rel, 'the directory was replaced while the archive was restored; its owner, mode and times are not set through what replaced it');
    }
    throw error;
  }
  try {
    apply(fd);
  } finally {
    closeSync(fd);
  }
}

async function restoreXattrs(state: State): Promise<void> {
  if (state.xattrs.size === 0) return;
  if (!state.options.writeXattrs) {
    for (const rel of state.xattrs.keys()) state.result.skipped.push({ path: rel, reason: 'extended attributes not restored: no writeXattrs helper was given' });
    return;
  }
  // Only entries this extraction restored: the paths were checked, their parents are real directories.
  const restorable: TreeXattrs = new Map([...state.xattrs].filter(([rel]) => state.dirs.has(rel) || state.nodes.has(rel) || state.symlinks.has(rel)));
  await state.options.writeXattrs(state.root, restorable);
  state.result.xattrEntries = restorable.size;
}

function depth(rel: string): number {
  return rel === '' ? 0 : rel.split('/').length;
}
