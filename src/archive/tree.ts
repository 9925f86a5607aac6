/**
 * Describes a directory tree (kind, mode, owner, content checksum, symlink target, mtime,
 * hard links, devices, xattrs) and lists the differences between two trees: what verify
 * reports for volumes, and what the archive tests assert on.
 */
import { createHash } from 'node:crypto';
import { open, readlink } from 'node:fs/promises';
import { constants, type BigIntStats } from 'node:fs';
import { splitDev } from './tar-format.js';
import { walkTree } from './walk.js';
import type { XattrReader } from './xattr.js';

export type TreeEntryKind = 'file' | 'directory' | 'symlink' | 'character-device' | 'block-device' | 'fifo' | 'socket' | 'other';

export interface TreeEntry {
  kind: TreeEntryKind;
  /** Permission bits including setuid, setgid and sticky. */
  mode: number;
  uid: number;
  gid: number;
  /** Bytes, for files; 0 otherwise. */
  size: number;
  /** Hex sha256 of the content, for files. */
  sha256?: string;
  linkTarget?: string;
  mtimeMs: number;
  mtimeNs: bigint;
  /** For an inode with several names: its first name in sorted order (itself for the first). */
  hardlinkOf?: string;
  /** "major:minor", for devices. */
  device?: string;
  /** Extended attributes as name → hex value, when a reader was given and the entry has any. */
  xattrs?: Record<string, string>;
}

export interface DescribeOptions {
  /** Reads xattrs (see xattr.ts); without it they are not described. */
  readXattrs?: XattrReader;
}

/** Every entry under `dir` by relative path ('.' is `dir` itself). */
export async function describeTree(dir: string, options: DescribeOptions = {}): Promise<Map<string, TreeEntry>> {
  const xattrs = options.readXattrs ? await options.readXattrs(dir) : undefined;
  const tree = new Map<string, TreeEntry>();
  const inodes = new Map<string, string>();
  const buffer = Buffer.allocUnsafe(1024 * 1024);
  for await (const { rel, abs, stat } of walkTree(dir)) {
    const key = rel === '' ? '.' : rel;
    const entry = baseEntry(stat);
    if (entry.kind !== 'directory' && stat.nlink > 1n) {
      const inode = `${stat.dev}:${stat.ino}`;
      const first = inodes.get(inode);
      entry.hardlinkOf = first ?? key;
      if (first === undefined) inodes.set(inode, key);
      else if (entry.kind === 'file') entry.sha256 = tree.get(first)?.sha256;
    }
    if (entry.kind === 'file' && entry.sha256 === undefined) entry.sha256 = await hashFile(abs, stat, buffer);
    if (entry.kind === 'symlink') entry.linkTarget = await readlink(abs);
    const attrs = xattrs?.get(rel);
    if (attrs && attrs.size > 0) {
      entry.xattrs = Object.fromEntries([...attrs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, value]) => [name, value.toString('hex')]));
    }
    tree.set(key, entry);
  }
  return tree;
}

function baseEntry(stat: BigIntStats): TreeEntry {
  const kind = kindOf(stat);
  const entry: TreeEntry = {
    kind,
    mode: Number(stat.mode) & 0o7777,
    uid: Number(stat.uid),
    gid: Number(stat.gid),
    size: kind === 'file' ? Number(stat.size) : 0,
    mtimeMs: Number(stat.mtimeNs) / 1e6,
    mtimeNs: stat.mtimeNs,
  };
  if (kind === 'character-device' || kind === 'block-device') {
    const { major, minor } = splitDev(stat.rdev);
    entry.device = `${major}:${minor}`;
  }
  return entry;
}

function kindOf(stat: BigIntStats): TreeEntryKind {
  if (stat.isFile()) return 'file';
  if (stat.isDirectory()) return 'directory';
  if (stat.isSymbolicLink()) return 'symlink';
  if (stat.isCharacterDevice()) return 'character-device';
  if (stat.isBlockDevice()) return 'block-device';
  if (stat.isFIFO()) return 'fifo';
  if (stat.isSocket()) return 'socket';
  return 'other';
}

/** What a file's checksum reads as when the name was swapped (for a symlink, a FIFO, another file) after the walk saw it. */
export const REPLACED_WHILE_READ = 'replaced while it was read';

async function hashFile(file: string, stat: BigIntStats, buffer: Buffer): Promise<string> {
  const hash = createHash('sha256');
  // Never through a symlink, never blocking on a FIFO: only the inode the walk saw is read.
  const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ELOOP') return undefined;
    throw error;
  });
  if (handle === undefined) return REPLACED_WHILE_READ;
  try {
    const opened = await handle.stat({ bigint: true });
    if (!opened.isFile() || opened.dev !== stat.dev || opened.ino !== stat.ino) return REPLACED_WHILE_READ;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

export type DifferenceField = 'missing' | 'extra' | 'kind' | 'content' | 'mode' | 'owner' | 'linkTarget' | 'mtime' | 'hardlink' | 'device' | 'xattrs';

export interface Difference {
  /** Relative path ('.' is the root). */
  path: string;
  field: DifferenceField;
  /** The value in the first tree (absent for 'extra'). */
  a?: string;
  /** The value in the second tree (absent for 'missing'). */
  b?: string;
}

export interface CompareOptions extends DescribeOptions {
  /**
   * Largest mtime difference taken as equal, in nanoseconds. Default 2000: Node sets times
   * through utimes with microsecond resolution, so restored times can differ below that.
   */
  mtimeToleranceNs?: number;
  /** Do not compare modification times at all. */
  ignoreMtime?: boolean;
  /** Do not compare the root directory's own metadata (mode, owner, mtime). */
  ignoreRoot?: boolean;
  /** Do not compare content checksums (trees described without them). */
  ignoreContent?: boolean;
}

/** Every difference between the trees at `a` and `b` (empty when they match). */
export async function compareTrees(a: string, b: string, options: CompareOptions = {}): Promise<Difference[]> {
  const [left, right] = [await describeTree(a, options), await describeTree(b, options)];
  return diffTrees(left, right, options);
}

/**
 * What diffTrees compares of an entry: a described TreeEntry, or one as verify records it
 * (its mtime a decimal string, JSON having no 64-bit integers).
 */
export type ComparableEntry = Pick<TreeEntry, 'kind' | 'mode' | 'uid' | 'gid' | 'sha256' | 'linkTarget' | 'hardlinkOf' | 'device' | 'xattrs'> & {
  mtimeNs: bigint | string;
};

/**
 * Differences between two described trees. Texts are made only for what differs, none for
 * an entry that matches: verify compares every file of every volume, tens of thousands at a
 * time, at the end of a run, and the copies and texts it made per entry were the run's peak.
 */
export function diffTrees(left: ReadonlyMap<string, ComparableEntry>, right: ReadonlyMap<string, ComparableEntry>, options: CompareOptions = {}): Difference[] {
  const tolerance = BigInt(options.mtimeToleranceNs ?? 2000);
  const differences: Difference[] = [];
  for (const [path, x] of left) {
    const y = right.get(path);
    if (y === undefined) differences.push({ path, field: 'missing', a: x.kind });
    else if (path === '.' && options.ignoreRoot) continue;
    else if (x.kind !== y.kind) differences.push({ path, field: 'kind', a: x.kind, b: y.kind });
    else entryDifferences(path, x, y, options, tolerance, differences);
  }
  for (const [path, y] of right) if (!left.has(path)) differences.push({ path, field: 'extra', b: y.kind });
  return differences;
}

/** Adds to `out` how two entries of the same kind at `path` differ. */
function entryDifferences(path: string, x: ComparableEntry, y: ComparableEntry, options: CompareOptions, toleranceNs: bigint, out: Difference[]): void {
  const add = (field: DifferenceField, a: string | undefined, b: string | undefined) => out.push({ path, field, a, b });
  if (!options.ignoreContent && x.sha256 !== y.sha256) add('content', x.sha256, y.sha256);
  if (x.mode !== y.mode) add('mode', octal(x.mode), octal(y.mode));
  if (x.uid !== y.uid || x.gid !== y.gid) add('owner', `${x.uid}:${x.gid}`, `${y.uid}:${y.gid}`);
  if (x.linkTarget !== y.linkTarget) add('linkTarget', x.linkTarget, y.linkTarget);
  if (x.hardlinkOf !== y.hardlinkOf) add('hardlink', x.hardlinkOf, y.hardlinkOf);
  if (x.device !== y.device) add('device', x.device, y.device);
  if (x.xattrs || y.xattrs) {
    const [a, b] = [x.xattrs && JSON.stringify(x.xattrs), y.xattrs && JSON.stringify(y.xattrs)];
    if (a !== b) add('xattrs', a, b);
  }
  // Equal as written (both bigints, or both decimal strings) is the common case: no arithmetic.
  if (!options.ignoreMtime && x.mtimeNs !== y.mtimeNs) {
    const [a, b] = [BigInt(x.mtimeNs), BigInt(y.mtimeNs)];
    if ((a > b ? a - b : b - a) > toleranceNs) add('mtime', isoNs(a), isoNs(b));
  }
}

function octal(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}

function isoNs(ns: bigint): string {
  const ms = ns / 1_000_000n;
  const rest = (ns % 1_000_000n).toString().padStart(6, '0');
  return new Date(Number(ms)).toISOString().replace('Z', `${rest}Z`);
}
