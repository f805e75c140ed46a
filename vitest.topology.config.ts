import { defineConfig } from 'vitest/config';

// `npm run test:topology`: the production topology (Temporal server on Postgres with mTLS, api
// replicas behind HAProxy, worker replicas) under load and faults. Slow; its own CI step.
export default defineConfig({
  test: {
    include: ['test/topology/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/support/setup-file.ts'],
    testTimeout: 900_000,
    hookTimeout: 600_000,
    maxWorkers: 1,
  },
});
