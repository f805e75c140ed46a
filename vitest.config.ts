import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/chaos/**', 'test/topology/**', 'node_modules/**'],
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/support/setup-file.ts'],
    testTimeout: 90_000,
    hookTimeout: 120_000,
    // Two cores: two test files at a time, each with its own worker and API.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
