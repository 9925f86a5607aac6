// Packing a tree that changes under it: a file swapped for a symlink (or a FIFO) between the
// walk's lstat and the open is left out and reported, never followed.
import { execFileSync } from 'node:child_process';
import { readFileSync, renameSync, symlinkSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { packToFile, removeDir, tempDir } from './helpers.js';

describe('packing a tree that changes while it is read', () => {
  let work: string;
  let source: string;
  const secret = 'TOP-SECRET-CONTENT-outside-the-volume\n';

  beforeEach(async () => {
    work = await tempDir('pack-swap');
    source = path.join(work, 'volume');
    await mkdir(source);
    // 'a' is big enough that the archive is being written (onProgress) before 'b' is opened.
    await writeFile(path.join(source, 'a'), Buffer.alloc(4 * 1024 * 1024, 1));
    await writeFile(path.join(source, 'b'), 'b'.repeat(secret.length * 2));
    await writeFile(path.join(work, 'secret'), secret);
  });
  afterEach(() => removeDir(work));

  /** Swaps at the first piece written, while 'a' is packed: after the walk saw 'b', before 'b' is opened. */
  async function packSwapping(swap: (b: string) => void) {
    const archive = path.join(work, 'out.tar');
    let swapped = false;
    const result = await packToFile(source, archive, {
      onProgress: (bytes) => {
        if (bytes === 0 || swapped) return;
        swapped = true;
        // Synchronous, so the packer never sees the swap half done (a name gone, nothing in its place).
        swap(path.join(source, 'b'));
      },
    });
    expect(swapped).toBe(true);
    return { result, bytes: readFileSync(archive) };
  }

  it('leaves out a file swapped for a symlink to outside, and says so', async () => {
    const { result, bytes } = await packSwapping((b) => {
      renameSync(b, `${b}.old`);
      symlinkSync(path.join(work, 'secret'), b);
    });
    expect(bytes.includes(Buffer.from('TOP-SECRET'))).toBe(false);
    expect(result.skipped).toContainEqual({ path: 'b', reason: 'replaced by a symlink while the tree was read; not followed' });
  });

  it('leaves out a directory swapped for a symlink to outside: nothing below it is read through the link', async () => {
    await mkdir(path.join(source, 'd'));
    await writeFile(path.join(source, 'd', 'inside'), 'inside\n');
    await mkdir(path.join(work, 'outside'));
    await writeFile(path.join(work, 'outside', 'inside'), secret);
    const { result, bytes } = await packSwapping(() => {
      renameSync(path.join(source, 'd'), path.join(source, 'd.old'));
      symlinkSync(path.join(work, 'outside'), path.join(source, 'd'));
    });
    expect(bytes.includes(Buffer.from('TOP-SECRET'))).toBe(false);
    expect(result.skipped).toContainEqual({ path: 'd', reason: 'replaced by a symlink or a file while the tree was read; not followed' });
  });

  it('leaves out a file swapped for a FIFO, without blocking on it', async () => {
    const { result } = await packSwapping((b) => {
      renameSync(b, `${b}.old`);
      execFileSync('mkfifo', [b]);
    });
    expect(result.skipped).toContainEqual({ path: 'b', reason: 'replaced by another file while the tree was read; not archived' });
  }, 10_000);
});
