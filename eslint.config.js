// Flat config: typescript-eslint's recommended rules over the sources and tests.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import nodePlugin from 'eslint-plugin-n';
import { LAYERS } from './eslint.layers.js';

// Only src/docker may talk to Docker, only src/host may run processes (DESIGN.md).
const DOCKERODE = { name: 'dockerode', message: 'Only src/docker talks to Docker.' };
const PROCESS = ['execa', 'node:child_process', 'child_process'].map((name) => ({
  name,
  message: 'Only src/host runs processes.',
}));
// The raw client (dockerode underneath) stays in src/docker: the rest gets the doors.
const RAW_CLIENT = { group: ['**/docker/client.js'], message: 'Only src/docker holds the raw Docker client; use the doors (src/docker/doors.ts).' };

/** An import specifier that reaches `name` under src/ from a file inside src/ (relative imports only). */
const reaching = (name) => ({ regex: `^(\\.\\./)+${name}(/|\\.js$)`, message: `${name} is not below this layer (docs/ARCHITECTURE.md).` });

/** One no-restricted-imports rule per layer: the door rules plus every folder not below it. */
function layerRules() {
  return LAYERS.flatMap((layer, index) => {
    const notBelow = LAYERS.slice(0, index + 1).flat();
    return layer.map((name) => {
      const paths = [...(name === 'docker' ? [] : [DOCKERODE]), ...(name === 'host' ? [] : PROCESS)];
      const patterns = [...notBelow.filter((other) => other !== name).map(reaching), ...(name === 'docker' ? [] : [RAW_CLIENT])];
      return {
        files: [`src/${name}/**/*.ts`, `src/${name}.ts`],
        rules: { 'no-restricted-imports': ['error', { paths, patterns }] },
      };
    });
  });
}

export default tseslint.config(
  { ignores: ['build/', 'dist/', 'node_modules/', 'coverage/', '.cache/', 'test/system/kit/', 'types/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // What ships, and the unit tier, run on Node 16.20 (RHEL 7's runtime, in the release
  // tarball): Node APIs and globals newer than that are errors (the type check says it too).
  {
    files: ['src/**/*.ts', 'bin/**/*.ts', 'test/unit/**/*.ts'],
    plugins: { n: nodePlugin },
    settings: { node: { version: '>=16.20.0' } },
    rules: {
      // Both came to 16 by backport (16.14, 16.17); only Node 17 and early 18s, which no host
      // runs (RHEL 8/9 ship 18.19+ and 20), lack them.
      'n/no-unsupported-features/node-builtins': ['error', { ignores: ['AbortSignal.timeout', 'fs/promises.constants'] }],
      'n/no-unsupported-features/es-builtins': 'error',
    },
  },
  ...layerRules(),
);
