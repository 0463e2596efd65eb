/**
 * Narrowing a differing chunk inside the databases (src/reconcile/prefilter/narrow.ts), legacy
 * MariaDB and read model PostgreSQL, real servers: the planted differences come out exactly,
 * including the chunk's first and last rows, the rows at the cuts between pieces, and rows
 * just outside the chunk (which must not); for a single and a composite key; cut on either side.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.ts';
import { createMysqlExecutor } from '../../src/db/mysqlExecutor.ts';
import { openEventStore, type EventStore } from '../../src/eventstore/index.ts';
import { createLegacyReader } from '../../src/reconcile/engine/legacyLimits.ts';
import { createNarrower, LEAF_ROWS, stepFor } from '../../src/reconcile/prefilter/narrow.ts';
import { createSqlPrefilter } from '../../src/reconcile/prefilter/sqlPrefilter.ts';
import { createReconciler } from '../../src/reconcile/reconciler.ts';
import { createMysqlTestDb, createPgTestDb, type TestDb } from '../harness/db.ts';

let legacyDb: TestDb;
let storeDb: TestDb;
let legacy: ReturnType<typeof createMysqlExecutor>;
let store: EventStore;

const ROWS = 6000;
const k = (n: number) => `k${String(n).padStart(6, '0')}`;

async function narrowerFor(entity: string, key: string[], columns: string[]) {
  const config = configSchema.parse({
    legacy: { upstream: 'http://127.0.0.1:3000' },
    entities: { [entity]: { projection: 'row', reconcile: { key, columns } } },
  });
  const reconciler = createReconciler({ config, legacy, store: store.db, projections: [{ entity, module: { name: entity } }] });
  const plan = await reconciler.plan(entity);
  const pre = await createSqlPrefilter(plan, legacy, store.db);
  expect(pre.status).toMatchObject({ enabled: true });
  return createNarrower({ plan, prefilter: pre.prefilter!, reader: await createLegacyReader(legacy, 30_000), store: store.db });
}

const keysOf = (diffs: { keyText: string; class: string }[]) => diffs.map((d) => [d.keyText, d.class]).sort();

beforeAll(async () => {
  [legacyDb, storeDb] = await Promise.all([createMysqlTestDb('narrow'), createPgTestDb('narrow')]);
  legacy = createMysqlExecutor({ url: legacyDb.url, max: 4 });
  store = await openEventStore({ url: storeDb.url, migrate: true, poolSize: 4 });
}, 60_000);

afterAll(async () => {
  await legacy?.close();
  await store?.close();
  await Promise.all([legacyDb?.drop(), storeDb?.drop()]);
});

describe('narrowing a differing chunk in the databases', () => {
  describe('single text key', () => {
    /** A table of its own per test, the same ROWS rows on both sides. */
    async function single(table: string) {
      await legacy.exec(`CREATE TABLE ${table} (id varchar(20) COLLATE utf8mb4_bin PRIMARY KEY, v int NOT NULL, note varchar(20) NULL)`);
      await legacy.exec(
        `INSERT INTO ${table} SELECT CONCAT('k', LPAD(seq, 6, '0')), seq, IF(seq % 7 = 0, NULL, CONCAT('n', seq)) FROM seq_1_to_${ROWS}`,
      );
      await store.db.exec(`CREATE TABLE ${table} (id text PRIMARY KEY, v int NOT NULL, note text NULL);
        INSERT INTO ${table} SELECT 'k' || lpad(n::text, 6, '0'), n, CASE WHEN n % 7 = 0 THEN NULL ELSE 'n' || n END FROM generate_series(1, ${ROWS}) n`);
    }

    it('finds exactly the planted keys of the chunk: its first and last rows, rows at and after a cut, missing and extra; nothing outside it', async () => {
      // The chunk (k001000, k003000]: legacy has the more rows (2001) and is cut every
      // stepFor(2001) rows; its first row is the inserted k001000a, so the 4th cut is k(1000 + 4 step - 1).
      const step = stepFor(2001);
      const cut = 1000 + 4 * step - 1; // the last key of the 4th piece
      await single('narrow_single');
      const planted = {
        differing: [1001, cut, cut + 1, 2000, 3000].map(k),
        extra: [1500, 1501].map(k), // deleted from legacy
        missing: [`${k(1000)}a`, `${k(1700)}a`, `${k(2999)}z`], // inserted in legacy only
      };
      await legacy.query('UPDATE narrow_single SET v = v + 1 WHERE id IN (?)', [planted.differing]);
      await legacy.query('UPDATE narrow_single SET note = NULL WHERE id = ?', [k(2000)]);
      await legacy.query('DELETE FROM narrow_single WHERE id IN (?)', [planted.extra]);
      for (const id of planted.missing) await legacy.query('INSERT INTO narrow_single VALUES (?, 1, ?)', [id, 'new']);
      // Just outside the chunk, on both ends: not this chunk's differences.
      await legacy.query('UPDATE narrow_single SET v = v + 1 WHERE id IN (?)', [[k(1000), k(3001)]]);

      const narrower = await narrowerFor('narrow_single', ['id'], ['id', 'v', 'note']);
      const c = await narrower.chunk([k(1000)], [k(3000)], 2001);
      expect(c.equal).toBe(false);
      expect(keysOf(c.diffs)).toEqual(
        [
          ...planted.differing.map((x) => [x, 'differing']),
          ...planted.extra.map((x) => [x, 'extra']),
          ...planted.missing.map((x) => [x, 'missing']),
        ].sort(),
      );
      expect(c.legacy.count).toBe(2000 - 2 + 3);
      expect(c.readModel.count).toBe(2000);
      expect(c.matched).toBe(2000 - 2 - planted.differing.length);
      // Only pieces of at most LEAF_ROWS rows around the differences crossed the wire.
      expect(c.rowsCompared).toBeLessThanOrEqual(10 * 2 * LEAF_ROWS);
      expect(c.rowsCompared).toBeLessThan(2000);

      // The next chunk starts cut into pieces (the last one differed) and still finds exactly
      // its own difference, the row right after the previous chunk's upper bound.
      const next = await narrower.chunk([k(3000)], [k(5000)], 2000);
      expect(keysOf(next.diffs)).toEqual([[k(3001), 'differing']]);
      expect(next).toMatchObject({ equal: false, matched: 1999, legacy: { count: 2000 }, readModel: { count: 2000 } });
      // And an equal chunk after it is equal, its totals those of the whole range.
      const tail = await narrower.chunk([k(5000)], null, 2000);
      expect(tail).toMatchObject({ equal: true, diffs: [], matched: ROWS - 5000, legacy: { count: ROWS - 5000 } });
      expect(tail.legacy.sum).toBe(tail.readModel.sum);
      expect(narrower.stats().narrowedChunks).toBe(2);
    });

    it('cuts on the read model side when it holds more rows of the range (a stretch missing from legacy)', async () => {
      await single('narrow_more');
      const gone = Array.from({ length: 300 }, (_, i) => k(4001 + i));
      await legacy.query('DELETE FROM narrow_more WHERE id IN (?)', [gone]);
      await legacy.query('UPDATE narrow_more SET v = v + 1 WHERE id = ?', [k(4600)]);
      const narrower = await narrowerFor('narrow_more', ['id'], ['id', 'v', 'note']);
      const c = await narrower.chunk([k(4000)], [k(4800)], 500);
      expect(keysOf(c.diffs)).toEqual([...gone.map((x) => [x, 'extra']), [k(4600), 'differing']].sort());
      expect(c).toMatchObject({ legacy: { count: 500 }, readModel: { count: 800 }, matched: 499 });
    });
  });

  describe('composite key (text, integer)', () => {
    beforeAll(async () => {
      await legacy.exec(
        'CREATE TABLE narrow_pair (a varchar(10) COLLATE utf8mb4_bin NOT NULL, b int NOT NULL, v int NOT NULL, PRIMARY KEY (a, b))',
      );
      await legacy.exec(`INSERT INTO narrow_pair SELECT CONCAT('g', LPAD(seq DIV 10, 3, '0')), seq MOD 10 + 1, seq FROM seq_0_to_1999`);
      await store.db.exec(`CREATE TABLE narrow_pair (a text NOT NULL, b int NOT NULL, v int NOT NULL, PRIMARY KEY (a, b));
        INSERT INTO narrow_pair SELECT 'g' || lpad((n / 10)::text, 3, '0'), n % 10 + 1, n FROM generate_series(0, 1999) n`);
    });

    it('finds exactly the planted keys between two composite bounds, the bounds themselves included correctly', async () => {
      await legacy.query(
        `UPDATE narrow_pair SET v = v + 1 WHERE (a, b) IN (('g010', 5), ('g010', 6), ('g077', 10), ('g150', 3), ('g150', 4))`,
      );
      await legacy.query(`DELETE FROM narrow_pair WHERE a = 'g077' AND b = 1`);
      await legacy.query(`INSERT INTO narrow_pair VALUES ('g077', 11, 0), ('g100', 0, 0)`);
      const narrower = await narrowerFor('narrow_pair', ['a', 'b'], ['a', 'b', 'v']);
      // (('g010', 5), ('g150', 3)]: ('g010', 5) is outside, ('g150', 3) inside, ('g150', 4) outside.
      const c = await narrower.chunk(['g010', 5], ['g150', 3], 1400);
      expect(keysOf(c.diffs)).toEqual(
        [
          ['["g010","6"]', 'differing'],
          ['["g077","10"]', 'differing'],
          ['["g150","3"]', 'differing'],
          ['["g077","1"]', 'extra'],
          ['["g077","11"]', 'missing'],
          ['["g100","0"]', 'missing'],
        ].sort(),
      );
      expect(c.readModel.count).toBe(1398);
      expect(c.legacy.count).toBe(1399);
    });
  });
});
