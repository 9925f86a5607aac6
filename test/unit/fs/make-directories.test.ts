import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeDirectories } from '../../../src/fs/make-directories.js';

const base = mkdtempSync(join(tmpdir(), 'dmm-mkdirs-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('makeDirectories', () => {
  it('creates every missing level with the mode, and accepts one that exists', async () => {
    const deep = join(base, 'a', 'b', 'c');
    await makeDirectories(deep, 0o700);
    for (const dir of [join(base, 'a'), join(base, 'a', 'b'), deep]) expect(statSync(dir).mode & 0o777).toBe(0o700);
    await makeDirectories(deep, 0o700);
  });

  // Node's recursive mkdir loops forever here (a state dir of /proc/x hung `run` at 92 % CPU).
  it('fails at once under /proc, naming the level that cannot be made', async () => {
    await expect(makeDirectories('/proc/dmm-not-here/state', 0o700)).rejects.toMatchObject({ code: 'ENOENT', path: '/proc/dmm-not-here' });
  }, 5_000);

  it('fails with ENOTDIR when a level is a file', async () => {
    await expect(makeDirectories('/etc/hostname/state', 0o700)).rejects.toMatchObject({ code: 'ENOTDIR' });
  });
});
