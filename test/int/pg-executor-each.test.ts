import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eachRow, type Executor } from '../../src/db/executor.ts';
import { createPgExecutor } from '../../src/db/pgExecutor.ts';
import { createPgliteExecutor } from '../../src/db/pgliteExecutor.ts';
import { createPgTestDb, type TestDb } from '../harness/db.ts';

// readAll hands each row of a window to its caller as it arrives (queryEach), so a catch-up
// never holds a window's rows and its events at once. The rows must be exactly what query()
// returns, and a failure, in SQL or in the caller's onRow, must leave the pool usable.
const SETUP = `CREATE TABLE t (n bigint PRIMARY KEY, amount numeric(12,2), doc jsonb);
  INSERT INTO t SELECT g, g / 4.0, jsonb_build_object('n', g) FROM generate_series(1, 2000) g`;
const SELECT = 'SELECT n, amount, doc FROM t WHERE n > $1 ORDER BY n';

describe('queryEach on PostgreSQL', () => {
  let t: TestDb;
  let db: Executor;
  beforeAll(async () => {
    t = await createPgTestDb('query_each');
    // One connection: a failed query that did not give its connection back would hang the next.
    db = createPgExecutor({ url: t.url, max: 1 });
    await db.exec(SETUP);
  });
  afterAll(async () => {
    await db?.close();
    await t?.drop();
  });

  it('hands over every row in order, as query() returns them, and counts them', async () => {
    expect(db.queryEach).toBeTypeOf('function');
    const rows: unknown[] = [];
    const count = await eachRow(db, SELECT, [1500], (r) => void rows.push(r));
    expect(count).toBe(500);
    expect(rows).toEqual((await db.query(SELECT, [1500])).rows);
    // Raw text for bigint, numeric and jsonb, as the executor promises everywhere.
    expect(rows[0]).toEqual({ n: '1501', amount: '375.25', doc: '{"n": 1501}' });
  });

  it('rejects with the error onRow threw, after draining, and the pool serves the next query', async () => {
    let seen = 0;
    const boom = new Error('bad row');
    const run = db.queryEach!<{ n: string }>(SELECT, [0], (r) => {
      seen++;
      if (r.n === '10') throw boom;
    });
    await expect(run).rejects.toBe(boom);
    expect(seen).toBe(10); // onRow is not called again after it threw
    expect((await db.query<{ c: string }>('SELECT count(*) AS c FROM t')).rows[0]?.c).toBe('2000');
  });

  it('rejects on an SQL error, and the pool serves the next query', async () => {
    await expect(db.queryEach!('SELECT n FROM no_such_table', [], () => {})).rejects.toMatchObject({ code: '42P01' });
    expect(await eachRow(db, SELECT, [1999], () => {})).toBe(1);
  });

  it('runs on the transaction connection inside a transaction', async () => {
    const inside = await db
      .transaction(async (tx) => {
        await tx.query(`INSERT INTO t VALUES (5000, 1, '{}')`);
        const ns: string[] = [];
        await eachRow<{ n: string }>(tx, SELECT, [1999], (r) => void ns.push(r.n));
        throw Object.assign(new Error('roll back'), { ns });
      })
      .catch((err: { ns: string[] }) => err.ns);
    expect(inside).toEqual(['2000', '5000']); // its own uncommitted row
    expect(await eachRow(db, SELECT, [1999], () => {})).toBe(1); // rolled back
  });
});

describe('eachRow without queryEach (PGlite)', () => {
  it('falls back to one query and hands over the same rows', async () => {
    const db = await createPgliteExecutor();
    try {
      expect(db.queryEach).toBeUndefined();
      await db.exec(SETUP);
      const rows: unknown[] = [];
      expect(await eachRow(db, SELECT, [1998], (r) => void rows.push(r))).toBe(2);
      expect(rows).toEqual([
        { n: '1999', amount: '499.75', doc: '{"n": 1999}' },
        { n: '2000', amount: '500.00', doc: '{"n": 2000}' },
      ]);
    } finally {
      await db.close();
    }
  });
});
