import { defineConfig } from 'vitest/config';

// Tiers: `unit` needs no server; `int` and `e2e` run against real PostgreSQL 15 and
// MariaDB 10.11 started once by the harness (test/harness/globalSetup.ts), each test file
// in a database of its own.
export default defineConfig({
  // `strangler-sidecar` imports (package.json exports) resolve to src/, the code under test,
  // not to a dist/ build that may be stale or absent. The rest is Vite's default server list.
  ssr: { resolve: { conditions: ['strangler-source', 'module', 'node', 'development|production'] } },
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 20_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'int',
          include: ['test/int/**/*.test.ts'],
          globalSetup: ['test/harness/globalSetup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          pool: 'forks',
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/harness/globalSetup.ts'],
          testTimeout: 300_000,
          hookTimeout: 120_000,
          pool: 'forks',
        },
      },
    ],
  },
});
