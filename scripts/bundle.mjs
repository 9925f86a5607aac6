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
  target: 'node16',
  external: ['cpu-features', '*.node'],
  // CommonJS dependencies call require() and read __dirname/__filename (ssh2, loaded by
  // dockerode, does so as it loads); give the ESM bundle all three.
  banner: {
    js: [
      "import { createRequire as __dmmCreateRequire } from 'node:module';",
      "import { fileURLToPath as __dmmFileURLToPath } from 'node:url';",
      "import { dirname as __dmmDirname } from 'node:path';",
      'const require = __dmmCreateRequire(import.meta.url);',
      'const __filename = __dmmFileURLToPath(import.meta.url);',
      'const __dirname = __dmmDirname(__filename);',
    ].join('\n'),
  },
  legalComments: 'linked',
  logLevel: 'warning',
});
await chmod(outfile, 0o755);
console.log(`wrote ${outfile}`);
