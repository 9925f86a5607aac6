import { defineConfig } from 'vitest/config';

// Unit tier: pure logic and fixture hosts; no daemon, fast.
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts'],
    environment: 'node',
    testTimeout: 20_000,
  },
});
