import { defineConfig } from 'vitest/config';

// System tier: each test file boots throwaway qemu guests (TCG) with a device-mapper kernel and
// runs a scenario in each (test/system/README.md). A guest has one vCPU, so two guests at a time
// fit the 2 cores: measured 165 s for the three first scenarios against 238 s one at a time.
// DMM_SYSTEM_GUESTS=1 runs them one at a time (a busy or small machine).
// The console streams straight to stdout, so the log shows each guest's progress as it runs.
const guests = Math.max(1, Number(process.env.DMM_SYSTEM_GUESTS) || 2);

export default defineConfig({
  test: {
    include: ['test/system/**/*.test.ts'],
    environment: 'node',
    globalSetup: ['test/system/global-setup.ts'],
    fileParallelism: guests > 1,
    maxWorkers: guests,
    minWorkers: 1,
    disableConsoleIntercept: true,
    testTimeout: 900_000,
    hookTimeout: 900_000,
  },
});
