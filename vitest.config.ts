import { defineConfig } from 'vitest/config';

// Unit tests run first, in parallel: pure and not timing-sensitive. Integration and e2e tests put load on the
// 2 cores, start real processes (echo servers, haproxy) or assert on timing (the waker, the run loop), so they
// run afterwards (groupOrder) in one fork, one file at a time. Worker threads and child processes start
// compiled entries, so test/setup/build.ts builds dist/ first whenever it is older than src/.
// Per project: a project does not inherit the root's test options. fast-check runs on a fixed seed (FC_SEED).
const SETUP_FILES = ['test/setup/fast-check.ts'];

export default defineConfig({
  test: {
    globalSetup: ['test/setup/build.ts'],
    // Two workers even on 2 cores (vitest's default is cores − 1): the seeded verdict calibration (~80 s of CPU) runs
    // beside the other unit files instead of before them. The integration project keeps one fork (singleFork).
    maxWorkers: 2,
    // test-results/vitest.json lets .ci/run print a plain "N passed, N failed" closing line.
    reporters: ['default', ['json', { outputFile: 'test-results/vitest.json' }]],
    projects: [
      {
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], setupFiles: SETUP_FILES, testTimeout: 30_000, sequence: { groupOrder: 0 } },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          setupFiles: SETUP_FILES,
          poolOptions: { forks: { singleFork: true } },
          sequence: { groupOrder: 1 },
          testTimeout: 120_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
