// Writes dist/devmapper-migrate.mjs: the whole tool in one file that runs with `node` alone
// (no node_modules), for air-gapped hosts. Native optional parts of ssh2 (used by dockerode
// only for ssh:// hosts) are left out; ssh2 falls back to pure JavaScript without them.
import { build } from 'esbuild';
import { chmod } from 'node:fs/promises';

const outfile = 'dist/devmapper-migrate.mjs';
await build({
  entryPoints: ['bin/devmapper-migrate.ts'],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node18.19',
  external: ['cpu-features', '*.node'],
  // CommonJS dependencies call require(); give the ESM bundle one.
  banner: {
    js: "import { createRequire as __dmmCreateRequire } from 'node:module';\nconst require = __dmmCreateRequire(import.meta.url);",
  },
  legalComments: 'linked',
  logLevel: 'warning',
});
await chmod(outfile, 0o755);
console.log(`wrote ${outfile}`);
