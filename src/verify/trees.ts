/**
 * Volume trees for verify: each volume's data directory described (kind, mode, owner, content
 * checksum or size, symlink target, mtime, hard links, devices) as JSON-serialisable entries,
 * once before the cutover (the run's volume-trees.json) and again when verifying.
 */
import { readlink } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import { describeTree, type TreeEntry, type TreeEntryKind } from '../archive/index.js';
import { splitDev } from '../archive/tar-format.js';
import { walkTree } from '../archive/walk.js';
import { VOLUME_TREES_VERSION, type RecordedTreeEntry, type RecordedVolumeTree, type RecordedVolumeTrees } from './types.js';

export interface TreeOptions {
  /** Hash every file (sha256); false records sizes only, much faster on big volumes. */
  content: boolean;
}

function fromTreeEntry(path: string, entry: TreeEntry): RecordedTreeEntry {
  const { mtimeMs: _ms, mtimeNs, ...rest } = entry;
  return { path, ...rest, mtimeNs: mtimeNs.toString() };
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

/**
 * describeTree without reading file contents (it always hashes): the same walk and fields,
 * sizes standing in for checksums.
 */
async function describeWithoutContent(dir: string): Promise<RecordedTreeEntry[]> {
  const out: RecordedTreeEntry[] = [];
  const inodes = new Map<string, string>();
  for await (const { rel, abs, stat } of walkTree(dir)) {
    const path = rel === '' ? '.' : rel;
    const kind = kindOf(stat);
    const entry: RecordedTreeEntry = {
      path,
      kind,
      mode: Number(stat.mode) & 0o7777,
      uid: Number(stat.uid),
      gid: Number(stat.gid),
      size: kind === 'file' ? Number(stat.size) : 0,
      mtimeNs: stat.mtimeNs.toString(),
    };
    if (kind !== 'directory' && stat.nlink > 1n) {
      const inode = `${stat.dev}:${stat.ino}`;
      entry.hardlinkOf = inodes.get(inode) ?? path;
      if (!inodes.has(inode)) inodes.set(inode, path);
    }
    if (kind === 'symlink') entry.linkTarget = await readlink(abs);
    if (kind === 'character-device' || kind === 'block-device') {
      const { major, minor } = splitDev(stat.rdev);
      entry.device = `${major}:${minor}`;
    }
    out.push(entry);
  }
  return out;
}

/** The entries of the tree at `dir`, in walk order. */
export async function describeVolumeDirectory(dir: string, options: TreeOptions): Promise<RecordedTreeEntry[]> {
  if (!options.content) return describeWithoutContent(dir);
  const tree = await describeTree(dir);
  return [...tree].map(([path, entry]) => fromTreeEntry(path, entry));
}

/** One volume's tree, or the reason it could not be read (a missing or unreadable directory). */
export async function describeVolume(volume: { name: string; path: string }, options: TreeOptions): Promise<RecordedVolumeTree> {
  try {
    return { name: volume.name, path: volume.path, entries: await describeVolumeDirectory(volume.path, options) };
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    return { name: volume.name, path: volume.path, error: e.code ? `${e.code}: ${e.message}` : String(e.message ?? error) };
  }
}

/** Describes each volume's data directory for a later verify (written to the run's volume-trees.json). */
export async function recordVolumeTrees(volumes: { name: string; path: string }[], options: { content: boolean }): Promise<RecordedVolumeTrees> {
  const recorded: RecordedVolumeTree[] = [];
  // One at a time: the walk already reads in parallel, and the disks are busy enough.
  for (const volume of volumes) recorded.push(await describeVolume(volume, options));
  return { version: VOLUME_TREES_VERSION, recordedAt: new Date().toISOString(), content: options.content, volumes: recorded };
}
