#!/usr/bin/env node
// `npm run try`: boots a throwaway qemu guest with a devicemapper Docker host and a sample
// workload, and gives you its shell to try devmapper-migrate in (test/system/try-it.ts).
// Root, Debian 12; installs what the system tier needs from Debian's packages when missing.
import { build } from 'esbuild';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = await mkdtemp(path.join(os.tmpdir(), 'dmm-try-'));
let code = 1;
try {
  const outfile = path.join(dir, 'try-it.mjs');
  // The harness files locate the project from their own path: keep that path meaningful.
  await build({
    entryPoints: [path.join(repo, 'test/system/try-it.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile,
    logLevel: 'error',
    define: { 'import.meta.url': JSON.stringify(pathToFileURL(path.join(repo, 'test/system/vm.ts')).href) },
  });
  const { tryIt } = await import(pathToFileURL(outfile).href);
  code = await tryIt();
} finally {
  await rm(dir, { recursive: true, force: true });
}
process.exit(code);
