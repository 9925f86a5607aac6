#!/usr/bin/env node
// `npm run bench` (issue 9): bundles test/bench/bench.ts (it drives the integration rig, which
// is TypeScript) to .cache/bench.mjs and runs it with this script's arguments. Needs root.
// Not run in CI: it is heavy. See test/bench/bench.ts for what it measures and its options.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outfile = path.join(repo, '.cache', 'bench.mjs');
await build({
  entryPoints: [path.join(repo, 'test/bench/bench.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node18.19',
  packages: 'external',
  logLevel: 'warning',
});
// Signals reach the child too (same process group); it tears down what it started and exits.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => undefined);
const result = spawnSync(process.execPath, [outfile, ...process.argv.slice(2)], { stdio: 'inherit', cwd: repo });
process.exitCode = result.status ?? 1;
