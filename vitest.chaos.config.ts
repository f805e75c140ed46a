import { defineConfig } from 'vitest/config';

// `npm run test:chaos`: the slow fault tests (process kills, restarts, outages, load), one file at a time.
export default defineConfig({
  test: {
    include: ['test/chaos/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/support/setup-file.ts'],
    testTimeout: 600_000,
    hookTimeout: 120_000,
    maxWorkers: 1,
  },
});
