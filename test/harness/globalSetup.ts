/**
 * Vitest global setup for the `int` and `e2e` projects: one PostgreSQL 15 and one MariaDB
 * 10.11 per project, started in parallel, stopped and removed in teardown. Test files get
 * the server URLs through `inject('pgUrl')` / `inject('mysqlUrl')` and make databases of
 * their own with test/harness/db.ts.
 *
 * STRANGLER_TEST_PG_URL / STRANGLER_TEST_MYSQL_URL point the tests at servers you already
 * run (superuser URLs: the tests create and drop databases); then nothing is started.
 */
import type { TestProject } from 'vitest/node';
import { startMariadb, startPostgres, type ServerHandle } from './servers.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the test PostgreSQL server (database `postgres`). */
    pgUrl: string;
    /** Root URL of the test MariaDB server (no database selected). */
    mysqlUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started: ServerHandle[] = [];
  const teardown = async () => {
    await Promise.allSettled(started.map((s) => s.destroy()));
  };

  const pgFromEnv = process.env['STRANGLER_TEST_PG_URL'];
  const mysqlFromEnv = process.env['STRANGLER_TEST_MYSQL_URL'];
  const [pgResult, mysqlResult] = await Promise.allSettled([
    pgFromEnv ? Promise.resolve(undefined) : startPostgres(),
    mysqlFromEnv ? Promise.resolve(undefined) : startMariadb(),
  ]);
  for (const r of [pgResult, mysqlResult]) if (r.status === 'fulfilled' && r.value) started.push(r.value);
  const failures = [pgResult, mysqlResult].filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failures.length > 0) {
    await teardown();
    throw new Error(failures.map((f) => (f.reason instanceof Error ? f.reason.message : String(f.reason))).join('\n\n'));
  }

  const pgUrl = pgFromEnv ?? (pgResult.status === 'fulfilled' ? pgResult.value?.url : undefined);
  const mysqlUrl = mysqlFromEnv ?? (mysqlResult.status === 'fulfilled' ? mysqlResult.value?.url : undefined);
  if (!pgUrl || !mysqlUrl) throw new Error('test servers did not start'); // unreachable: narrowed for the types
  project.provide('pgUrl', pgUrl);
  project.provide('mysqlUrl', mysqlUrl);
  return teardown;
}
