/**
 * Depth-first walk of a tree in a fixed order (parents before children, siblings sorted by
 * the bytes of their names, as `strcmp` would), without following symlinks. Memory is
 * proportional to the depth times the directories' widths, not to the tree's size.
 */
import { lstat, readdir } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import path from 'node:path';

export interface WalkEntry {
  /** Path relative to the root, '' for the root itself, '/'-separated. */
  rel: string;
  abs: string;
  stat: BigIntStats;
}

export interface WalkSkip {
  path: string;
  reason: string;
}

const LSTAT_CONCURRENCY = 32;

/** Every entry under `root` (the root first), in sorted depth-first order. */
export async function* walkTree(root: string, onSkip: (skip: WalkSkip) => void = () => {}): AsyncGenerator<WalkEntry> {
  const abs = path.resolve(root);
  const stat = await lstat(abs, { bigint: true });
  yield { rel: '', abs, stat };
  if (stat.isDirectory()) yield* walkDir(abs, '', onSkip);
}

async function* walkDir(abs: string, rel: string, onSkip: (skip: WalkSkip) => void): AsyncGenerator<WalkEntry> {
  const raw = await readdir(abs, { encoding: 'buffer' });
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
  for (let start = 0; start < names.length; start += LSTAT_CONCURRENCY) {
    const batch = names.slice(start, start + LSTAT_CONCURRENCY);
    const stats = await Promise.all(batch.map((name) => lstat(path.join(abs, name), { bigint: true }).catch(vanished)));
    for (const [i, name] of batch.entries()) {
      const childStat = stats[i];
      const childRel = join(rel, name);
      if (childStat === undefined) {
        onSkip({ path: childRel, reason: 'vanished while the tree was read' });
        continue;
      }
      const childAbs = path.join(abs, name);
      yield { rel: childRel, abs: childAbs, stat: childStat };
      if (childStat.isDirectory()) yield* walkDir(childAbs, childRel, onSkip);
    }
  }
}

function join(rel: string, name: string): string {
  return rel === '' ? name : `${rel}/${name}`;
}

function vanished(error: NodeJS.ErrnoException): undefined {
  if (error.code === 'ENOENT') return undefined;
  throw error;
}

function escapeBytes(name: Buffer): string {
  return [...name].map((b) => (b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('');
}
