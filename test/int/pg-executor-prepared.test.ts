import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Executor } from '../../src/db/executor.ts';
import { createPgExecutor } from '../../src/db/pgExecutor.ts';
import { createPgTestDb, type TestDb } from '../harness/db.ts';

// Read handlers and the read path run named (prepared) statements. A read model rebuilt by a
// new module version may come back with other column types under the same table name; the
// statement prepared on a pooled connection must not fail from then on.
describe('named statements on PostgreSQL', () => {
  let t: TestDb;
  let db: Executor;
  beforeAll(async () => {
    t = await createPgTestDb('prepared');
    db = createPgExecutor({ url: t.url, max: 1 }); // one connection: the one that prepared it
  });
  afterAll(async () => {
    await db?.close();
    await t?.drop();
  });

  it('still answer after their table is replaced by one with other column types', async () => {
    await db.exec('CREATE TABLE rm (id text PRIMARY KEY, total integer); INSERT INTO rm VALUES ($$a$$, 7)');
    const sql = 'SELECT id, total FROM rm WHERE id = $1';
    expect((await db.query(sql, ['a'], { name: 'rm_get' })).rows).toEqual([{ id: 'a', total: 7 }]);
    await db.exec('DROP TABLE rm; CREATE TABLE rm (id text PRIMARY KEY, total numeric(12,2)); INSERT INTO rm VALUES ($$a$$, 7.5)');
    expect((await db.query(sql, ['a'], { name: 'rm_get' })).rows).toEqual([{ id: 'a', total: '7.50' }]);
    expect((await db.query(sql, ['a'], { name: 'rm_get' })).rows).toEqual([{ id: 'a', total: '7.50' }]);
  });
});
