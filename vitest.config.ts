import { defineConfig } from 'vitest/config';

// Tiers: `unit` needs no server; `int` and `e2e` run against real PostgreSQL 15 and
// MariaDB 10.11 started once by the harness (test/harness/globalSetup.ts), each test file
// in a database of its own.
export default defineConfig({
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
