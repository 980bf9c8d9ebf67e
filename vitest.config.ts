import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['dapp/**/*.test.ts', 'scripts/**/*.test.ts', 'server/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['tests/e2e/**/*.test.ts', 'tests/browser/**/*.test.ts'],
          // Builds contracts if their sources changed, starts the local chain, deploys; builds the app
          // (build/) for the real-browser tests in tests/browser/.
          globalSetup: ['tests/global-setup.ts', 'tests/build-app-setup.ts'],
          // A retried test's first error would otherwise not be shown.
          setupFiles: ['tests/log-failed-attempts.ts'],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          // One chain, one deployer account: run files one after another.
          fileParallelism: false,
        },
      },
    ],
  },
});
