import { defineConfig } from 'vitest/config';

// Integration tier: a real dockerd and registry on loopback, started by the global setup.
// Files run one at a time: they share one machine's daemons, ports and CPU (2 cores).
export default defineConfig({
  test: {
    include: ['test/integration/**/*.test.ts'],
    environment: 'node',
    globalSetup: ['test/rig/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 300_000,
  },
});
