/**
 * Depth-first walk of a tree in a fixed order (parents before children, siblings sorted by
 * the bytes of their names, as `strcmp` would), without following symlinks. Memory is
 * proportional to the depth times the directories' widths, not to the tree's size.
 *
 * Each directory is opened (O_NOFOLLOW) and checked against its lstat before it is read, and
 * its children are reached through that descriptor (`/proc/self/fd/N/name`), never by its name
 * again: a directory swapped for a symlink while the tree is walked (by a process writing to
 * the volume) cannot lead the walk, or anyone opening an entry's `abs`, outside the tree.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import path from 'node:path';

export interface WalkEntry {
  /** Path relative to the root, '' for the root itself, '/'-separated. */
  rel: string;
  /**
   * Where to open the entry, valid until the walk moves past its directory: below the root,
   * a path through the parent directory's descriptor (open it without following the last
   * component: O_NOFOLLOW, readlink, lstat).
   */
  abs: string;
  stat: BigIntStats;
}

const OPEN_DIRECTORY = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

export interface WalkSkip {
  path: string;
  reason: string;
}

const LSTAT_BATCH = 32;

/** Every entry under `root` (the root first), in sorted depth-first order. */
export async function* walkTree(root: string, onSkip: (skip: WalkSkip) => void = () => {}): AsyncGenerator<WalkEntry> {
  yield* walkTreeSync(root, onSkip);
}

/**
 * The same walk with synchronous calls: the packer's loop (a page-cached lstat takes
 * microseconds; a thread-pool round trip and an async generator's step per entry cost more
 * than that, measured with scripts/bench-archive.mjs).
 */
export function* walkTreeSync(root: string, onSkip: (skip: WalkSkip) => void = () => {}): Generator<WalkEntry> {
  const abs = path.resolve(root);
  const stat = lstatSync(abs, { bigint: true });
  yield { rel: '', abs, stat };
  if (stat.isDirectory()) yield* walkDir(abs, '', stat, onSkip);
}

/** A descriptor of the directory the walk saw at `abs`, or undefined (reported) when it was replaced since. */
function openSeenDirectory(abs: string, rel: string, seen: BigIntStats, onSkip: (skip: WalkSkip) => void): number | undefined {
  let fd: number;
  try {
    fd = openSync(abs, OPEN_DIRECTORY);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // With O_DIRECTORY, Linux answers ENOTDIR for a symlink too (ELOOP without it).
    const replaced = code === 'ELOOP' || code === 'ENOTDIR';
    const reason = replaced ? 'replaced by a symlink or a file while the tree was read; not followed' : code === 'ENOENT' ? 'vanished while the tree was read' : undefined;
    if (reason === undefined) throw error;
    onSkip({ path: rel === '' ? '.' : rel, reason });
    return undefined;
  }
  const opened = fstatSync(fd, { bigint: true });
  if (opened.dev === seen.dev && opened.ino === seen.ino) return fd;
  closeSync(fd);
  onSkip({ path: rel === '' ? '.' : rel, reason: 'replaced by another directory while the tree was read; its contents are not archived' });
  return undefined;
}

function* walkDir(dirPath: string, rel: string, seen: BigIntStats, onSkip: (skip: WalkSkip) => void): Generator<WalkEntry> {
  const fd = openSeenDirectory(dirPath, rel, seen, onSkip);
  if (fd === undefined) return;
  try {
    yield* walkOpenDir(`/proc/self/fd/${fd}`, rel, onSkip);
  } finally {
    closeSync(fd);
  }
}

function* walkOpenDir(abs: string, rel: string, onSkip: (skip: WalkSkip) => void): Generator<WalkEntry> {
  const raw = readdirSync(abs, { encoding: 'buffer' });
  raw.sort(Buffer.compare);
  const names: string[] = [];
  for (const name of raw) {
    const text = name.toString('utf8');
    // A name that is not UTF-8 cannot be carried by a PAX path or by Node's string paths.
    if (!Buffer.from(text, 'utf8').equals(name)) {
      onSkip({ path: join(rel, escapeBytes(name)), reason: 'name is not valid UTF-8' });
      continue;
    }
    names.push(text);
  }
  // A batch of siblings is looked at (lstat) before any of them is packed, as the packer
  // reads: what changes meanwhile is what its open checks catch (test/unit/archive/pack-swap).
  for (let start = 0; start < names.length; start += LSTAT_BATCH) {
    const batch = names.slice(start, start + LSTAT_BATCH);
    const stats = batch.map((name) => lstatOrVanished(path.join(abs, name)));
    for (const [i, name] of batch.entries()) {
      const childStat = stats[i];
      const childRel = join(rel, name);
      if (childStat === undefined) {
        onSkip({ path: childRel, reason: 'vanished while the tree was read' });
        continue;
      }
      const childAbs = path.join(abs, name);
      yield { rel: childRel, abs: childAbs, stat: childStat };
      if (childStat.isDirectory()) yield* walkDir(childAbs, childRel, childStat, onSkip);
    }
  }
}

function join(rel: string, name: string): string {
  return rel === '' ? name : `${rel}/${name}`;
}

function lstatOrVanished(abs: string): BigIntStats | undefined {
  try {
    return lstatSync(abs, { bigint: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function escapeBytes(name: Buffer): string {
  return [...name].map((b) => (b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('');
}
