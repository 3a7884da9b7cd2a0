import { defineConfig } from 'vitest/config';

// Two projects: fast unit tests, and e2e tests that use real parts (a Docker engine, the built CLI).
// ./scripts/test runs them separately so the e2e output can be checked for leaked secrets.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          // A guard against hangs, not a speed check: some unit tests talk to the local platform over HTTP,
          // and on 2 busy cores vitest's 5 s default cut one short now and then.
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/e2e/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        // Runs after the e2e project, over the output it captured (see ./scripts/test).
        test: {
          name: 'leak-check',
          include: ['test/leak-check/**/*.test.ts'],
        },
      },
    ],
  },
});
