// Writes schema/answers.schema.json from the declarations in src/config/questions.ts (through
// src/config/answers-schema.ts). `--check` only compares and exits 1 when the file is stale.
// A unit test (test/unit/config/answers-schema.test.ts) makes the same comparison.
import { build } from 'esbuild';
import { readFile, writeFile } from 'node:fs/promises';

const outfile = new URL('../schema/answers.schema.json', import.meta.url);
const bundled = await build({
  entryPoints: [new URL('../src/config/answers-schema.ts', import.meta.url).pathname],
  bundle: true,
  platform: 'node',
  format: 'esm',
  write: false,
  logLevel: 'warning',
});
const { answersJsonSchema } = await import(
  `data:text/javascript;base64,${Buffer.from(bundled.outputFiles[0].text).toString('base64')}`
);
const text = `${JSON.stringify(answersJsonSchema(), null, 2)}\n`;

if (process.argv.includes('--check')) {
  const current = await readFile(outfile, 'utf8').catch(() => '');
  if (current !== text) {
    console.error('schema/answers.schema.json is stale: run node scripts/gen-schema.mjs');
    process.exit(1);
  }
  console.log('schema/answers.schema.json is up to date');
} else {
  await writeFile(outfile, text);
  console.log('wrote schema/answers.schema.json');
}
