// The check a resumed run makes before it skips a writable-layer or volume archive.
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileMatchesSha256, sha256OfFile } from '../../../src/fs/file-sha256.js';

let dir: string;
const content = Buffer.alloc(3 * 1024 * 1024, 7);
const hex = createHash('sha256').update(content).digest('hex');

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'dmm-sha-'));
  await writeFile(path.join(dir, 'a.tar'), content);
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('fileMatchesSha256', () => {
  it('accepts the recorded sha256 with or without its "sha256:" prefix', async () => {
    expect(await sha256OfFile(path.join(dir, 'a.tar'))).toBe(hex);
    expect(await fileMatchesSha256(path.join(dir, 'a.tar'), hex)).toBe(true);
    expect(await fileMatchesSha256(path.join(dir, 'a.tar'), `sha256:${hex}`)).toBe(true);
  });

  it('refuses a damaged or missing file, and a unit with no sha256 recorded', async () => {
    await writeFile(path.join(dir, 'b.tar'), Buffer.concat([content.subarray(0, content.length - 1), Buffer.from([8])]));
    expect(await fileMatchesSha256(path.join(dir, 'b.tar'), hex)).toBe(false);
    expect(await fileMatchesSha256(path.join(dir, 'missing.tar'), hex)).toBe(false);
    expect(await fileMatchesSha256(path.join(dir, 'a.tar'), undefined)).toBe(false);
  });
});

describe('sha256OfFile', () => {
  it('reads a big file through one buffer: memory stays flat (fresh 1 MiB reads piled up as garbage: the run\'s peak RSS)', async () => {
    const big = path.join(dir, 'big.tar');
    const data = Buffer.alloc(96 * 1024 * 1024, 3);
    await writeFile(big, data);
    const expected = createHash('sha256').update(data).digest('hex');
    const before = process.memoryUsage().arrayBuffers;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers)), 1);
    try {
      expect(await sha256OfFile(big)).toBe(expected);
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, process.memoryUsage().arrayBuffers);
    expect((peak - before) / 2 ** 20).toBeLessThan(8);
  });
});

