import { defineConfig } from 'vitest/config';

// Unit tests run in parallel; integration and e2e tests put load on the 2 cores and start real processes
// (echo servers, haproxy), so they run one file at a time after the unit tests.
export default defineConfig({
  test: {
    projects: [
      {
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 20_000 },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
