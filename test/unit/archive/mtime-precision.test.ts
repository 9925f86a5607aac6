// Modification times survive extraction to the microsecond even at today's epoch seconds, where
// a double holds only about a quarter of a microsecond and libuv truncates to whole microseconds
// (seen in run.test: 1796604454.418180 came back as .418179).
import { execFileSync } from 'node:child_process';
import { lstatSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { extractFile, packToFile, removeDir, tempDir } from './helpers.js';

let work: string;
beforeAll(async () => {
  work = await tempDir('dmm-mtime-');
});
afterAll(() => removeDir(work));

it('restores each mtime to the microsecond', async () => {
  const source = path.join(work, 'source');
  execFileSync('mkdir', [source]);
  const stamps = Array.from({ length: 64 }, (_, n) => `1796604454.${String(418180 + n * 7919).padStart(6, '0')}${String((n * 37) % 1000).padStart(3, '0')}`);
  stamps.forEach((stamp, n) => {
    writeFileSync(path.join(source, `f${n}`), 'x');
    execFileSync('touch', ['-m', '-d', `@${stamp}`, path.join(source, `f${n}`)]);
  });
  const archive = path.join(work, 'a.tar');
  await packToFile(source, archive);
  const target = path.join(work, 'target');
  execFileSync('mkdir', [target]);
  await extractFile(archive, target);
  const micro = (file: string) => lstatSync(file, { bigint: true }).mtimeNs / 1000n;
  const wrong = stamps.map((_, n) => `f${n}`).filter((name) => micro(path.join(target, name)) !== micro(path.join(source, name)));
  expect(wrong).toEqual([]);
});
