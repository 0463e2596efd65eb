import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgExecutor } from '../../src/db/pgExecutor.ts';
import { loadMigrations, migrate } from '../../src/db/migrate.ts';
import { createPgTestDb, type TestDb } from '../harness/db.ts';

describe('event store migrations (PostgreSQL 15)', () => {
  let testDb: TestDb;
  let db: ReturnType<typeof createPgExecutor>;
  beforeAll(async () => {
    testDb = await createPgTestDb('migrate');
    db = createPgExecutor({ url: testDb.url, max: 2 });
  });
  afterAll(async () => {
    await db?.close();
    await testDb?.drop();
  });

  const schema = async () =>
    (
      await db.query<{ t: string; c: string; d: string }>(
        `SELECT table_name AS t, column_name AS c, data_type AS d FROM information_schema.columns
          WHERE table_schema = 'public' ORDER BY table_name, column_name`,
      )
    ).rows.map((r) => `${r.t}.${r.c} ${r.d}`);
  const recorded = async () =>
    (
      await db.query<{ version: number; name: string; checksum: string }>(
        'SELECT version, name, checksum FROM strangler_migrations ORDER BY version',
      )
    ).rows;

  it('a second run applies nothing and leaves the schema and the recorded versions as the first left them', async () => {
    const files = loadMigrations();
    const first = await migrate(db);
    expect(first).toEqual({ applied: files.map((m) => m.name), alreadyApplied: 0 });
    const schemaAfterFirst = await schema();
    const versionsAfterFirst = await recorded();
    expect(versionsAfterFirst.map((r) => r.version)).toEqual(files.map((m) => m.version));
    expect(schemaAfterFirst).toEqual(expect.arrayContaining([expect.stringMatching(/^strangler_events\.global_position /)]));

    const second = await migrate(db);
    expect(second).toEqual({ applied: [], alreadyApplied: files.length });
    expect(await schema()).toEqual(schemaAfterFirst);
    expect(await recorded()).toEqual(versionsAfterFirst);
  });
});
