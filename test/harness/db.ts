/**
 * A database of its own per test file (or per test) on the servers globalSetup started:
 * files run in parallel and must never see each other's tables.
 *
 *   const db = await createPgTestDb('eventstore');
 *   afterAll(() => db.drop());
 *
 * A test that changes rows gets a fresh copy of data seeded once (`template`), so no test
 * depends on what another left or restored:
 *
 *   const seed = await createPgTestDb('orders_seed'); ...seed it, close its pools...
 *   beforeEach(async () => (db = await createPgTestDb('orders', { template: seed.name })));
 */
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { createMysqlExecutor } from '../../src/db/mysqlExecutor.ts';
import { createPgExecutor } from '../../src/db/pgExecutor.ts';

export interface TestDb {
  /** URL of the new database (same server and user as the server URL). */
  url: string;
  name: string;
  /** Drops the database; connections still open to it are terminated on PostgreSQL. Idempotent. */
  drop(): Promise<void>;
}

/** Superuser URL of the test PostgreSQL server. */
export function pgServerUrl(): string {
  return inject('pgUrl');
}

/** Root URL of the test MariaDB server. */
export function mysqlServerUrl(): string {
  return inject('mysqlUrl');
}

export interface TestDbOptions {
  /**
   * Database to copy (tables and rows). PostgreSQL: CREATE DATABASE … TEMPLATE, so nothing may
   * be connected to it (close its pools after seeding). MariaDB: each table re-created from
   * SHOW CREATE TABLE (keys and constraints kept) and filled server-side.
   */
  template?: string;
}

export async function createPgTestDb(prefix = 't', opts: TestDbOptions = {}): Promise<TestDb> {
  const server = pgServerUrl();
  const name = uniqueName(prefix);
  const admin = createPgExecutor({ url: server, max: 1 });
  try {
    await admin.exec(`CREATE DATABASE "${name}"${opts.template ? ` TEMPLATE "${opts.template}"` : ''}`);
  } finally {
    await admin.close();
  }
  return {
    name,
    url: withDatabase(server, name),
    drop: once(async () => {
      const a = createPgExecutor({ url: server, max: 1 });
      try {
        // FORCE: a test that forgot to close its pool must not make teardown hang or fail.
        await a.exec(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await a.close();
      }
    }),
  };
}

export async function createMysqlTestDb(prefix = 't', opts: TestDbOptions = {}): Promise<TestDb> {
  const server = mysqlServerUrl();
  const name = uniqueName(prefix);
  const admin = createMysqlExecutor({ url: server, max: 1 });
  try {
    await admin.exec(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    if (opts.template) await copyMysqlTables(admin, opts.template, name);
  } finally {
    await admin.close();
  }
  return {
    name,
    url: withDatabase(server, name),
    drop: once(async () => {
      const a = createMysqlExecutor({ url: server, max: 1 });
      try {
        await a.exec(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await a.close();
      }
    }),
  };
}

/** Copies every base table of `from` into `to` on the same server (one connection: the session settings hold). */
async function copyMysqlTables(admin: ReturnType<typeof createMysqlExecutor>, from: string, to: string): Promise<void> {
  const { rows } = await admin.query<{ name: string }>(
    "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ? AND table_type = 'BASE TABLE' ORDER BY table_name",
    [from],
  );
  // Tables in any order: foreign keys are checked by the rows' own database, already consistent.
  await admin.exec('SET SESSION foreign_key_checks = 0');
  try {
    for (const { name } of rows) {
      const created = await admin.query<Record<string, string>>(`SHOW CREATE TABLE \`${from}\`.\`${name}\``);
      await admin.exec(`USE \`${to}\``);
      await admin.exec(created.rows[0]!['Create Table']!);
      await admin.exec(`INSERT INTO \`${to}\`.\`${name}\` SELECT * FROM \`${from}\`.\`${name}\``);
    }
  } finally {
    await admin.exec('SET SESSION foreign_key_checks = 1');
  }
}

/** prefix_pid_random, lower case, within PostgreSQL's 63-byte and MySQL's 64-char limits. */
function uniqueName(prefix: string): string {
  const clean =
    prefix
      .toLowerCase()
      .replace(/[^a-z0-9_]/g, '_')
      .slice(0, 40) || 't';
  return `${clean}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

function withDatabase(serverUrl: string, name: string): string {
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let p: Promise<void> | undefined;
  return () => (p ??= fn());
}
