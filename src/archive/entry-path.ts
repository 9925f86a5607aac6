/**
 * Pure checks on archive entry names and link targets (contract: "Archives are restored only
 * inside their target: no absolute path, `..` or link escape").
 */
import { UnsafeArchiveError } from './errors.js';

/** Longest relative path accepted (Linux PATH_MAX). */
export const MAX_PATH_BYTES = 4096;

/**
 * The entry's path relative to the target ('' for the target itself), '/'-separated, without
 * '.' components; throws UnsafeArchiveError for NUL, absolute paths and '..' components.
 */
export function safeRelativePath(name: string, entry: string = name, what = 'path'): string {
  if (name.includes('\0')) throw new UnsafeArchiveError(entry, `the ${what} contains a NUL byte`);
  if (name.startsWith('/')) throw new UnsafeArchiveError(entry, `the ${what} is absolute (${JSON.stringify(name)})`);
  const parts = name.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) throw new UnsafeArchiveError(entry, `the ${what} has a '..' component (${JSON.stringify(name)})`);
  const rel = parts.join('/');
  if (Buffer.byteLength(rel) > MAX_PATH_BYTES) throw new UnsafeArchiveError(entry, `the ${what} is longer than ${MAX_PATH_BYTES} bytes`);
  return rel;
}

/** Parent directories of a relative path, outermost first ('a/b/c' → ['a', 'a/b']). */
export function parentsOf(rel: string): string[] {
  const parts = rel.split('/');
  const parents: string[] = [];
  for (let i = 1; i < parts.length; i++) parents.push(parts.slice(0, i).join('/'));
  return parents;
}

export type Resolution = { kind: 'inside'; path: string } | { kind: 'outside' } | { kind: 'absolute' } | { kind: 'loop' };

const MAX_HOPS = 40;

/**
 * Where the symlink at `rel` with `target` leads, resolving `..` and the other symlinks of
 * the archive (`symlinks`: path → target) the way the kernel would, inside the target tree.
 * 'outside' means it climbs above the target; 'absolute' means it reaches an absolute target.
 */
export function resolveSymlink(rel: string, target: string, symlinks: ReadonlyMap<string, string>): Resolution {
  const start = rel.split('/').slice(0, -1).filter((part) => part !== '');
  const result = walk(start, target, symlinks, { hops: 0 });
  return Array.isArray(result) ? { kind: 'inside', path: result.join('/') } : { kind: result };
}

function walk(start: string[], target: string, symlinks: ReadonlyMap<string, string>, budget: { hops: number }): string[] | 'outside' | 'absolute' | 'loop' {
  if (target.startsWith('/')) return 'absolute';
  let stack = [...start];
  for (const part of target.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (stack.length === 0) return 'outside';
      stack.pop();
      continue;
    }
    stack.push(part);
    const link = symlinks.get(stack.join('/'));
    if (link === undefined) continue;
    if (++budget.hops > MAX_HOPS) return 'loop';
    stack.pop();
    const next = walk(stack, link, symlinks, budget);
    if (!Array.isArray(next)) return next;
    stack = next;
  }
  return stack;
}
