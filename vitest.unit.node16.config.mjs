// The unit tier on Node 16.20.2 with vitest 0.34 (scripts/test-unit-node16.sh). Plain
// JavaScript without imports: vitest/config from node_modules is vitest 3, which needs Node 18.
// The tests' own `import ... from 'vitest'` is pointed at the runner's vitest the same way.
import { fileURLToPath } from 'node:url';

const runner = fileURLToPath(new URL('./.cache/vitest-node16/node_modules/vitest/dist/index.js', import.meta.url));

export default {
  resolve: { alias: [{ find: /^vitest$/, replacement: runner }] },
  test: {
    include: ['test/unit/**/*.test.ts'],
    // The lint rule's own test runs ESLint 9, which needs Node 18: it checks the tooling, not what ships.
    exclude: ['test/unit/architecture/layer-lint.test.ts'],
    environment: 'node',
    testTimeout: 20_000,
    // Child processes, as vitest 3's default 'forks' pool on Node 20: a worker thread may not
    // set process.umask() or chdir, which some tests need.
    threads: false,
  },
};
