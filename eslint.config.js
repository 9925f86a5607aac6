// Flat config: typescript-eslint's recommended rules over the sources and tests.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

// Only src/docker may talk to Docker, only src/host may run processes (DESIGN.md).
const DOCKERODE = { name: 'dockerode', message: 'Only src/docker talks to Docker.' };
const PROCESS = ['execa', 'node:child_process', 'child_process'].map((name) => ({
  name,
  message: 'Only src/host runs processes.',
}));

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
  {
    files: ['src/**/*.ts'],
    ignores: ['src/docker/**', 'src/host/**'],
    rules: { 'no-restricted-imports': ['error', { paths: [DOCKERODE, ...PROCESS] }] },
  },
  { files: ['src/docker/**/*.ts'], rules: { 'no-restricted-imports': ['error', { paths: PROCESS }] } },
  { files: ['src/host/**/*.ts'], rules: { 'no-restricted-imports': ['error', { paths: [DOCKERODE] }] } },
);
