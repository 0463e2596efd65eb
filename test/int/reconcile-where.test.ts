/**
 * `reconcile.where` (a row filter per side) on real databases: legacy MariaDB and legacy
 * PostgreSQL against a PostgreSQL read model. Rows the filter leaves out are not compared
 * (whatever they hold on either side); a live row that differs, or is missing, is still
 * found; through the in-database prefilter and its narrowing, and through the TypeScript-only
 * path alike. A repair never removes a read-model row whose legacy row the filter left out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.ts';
import { connect } from '../../src/db/connect.ts';
import type { Executor } from '../../src/db/executor.ts';
import { openEventStore, type EventStore } from '../../src/eventstore/index.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { createReconciler } from '../../src/reconcile/reconciler.ts';
import { repairRun } from '../../src/reconcile/repair/repair.ts';
import { getRun } from '../../src/reconcile/store/runs.ts';
import { createMysqlTestDb, createPgTestDb, type TestDb } from '../harness/db.ts';
import { finished } from '../helpers/reconcile.ts';
import { seededRandom } from '../helpers/seed.ts';

const ROWS = 4000;
const k = (n: number) => `a${String(n).padStart(6, '0')}`;
// Every 7th row is soft-deleted, every 11th (not 7th) has no status; the rest are live.
const status = (n: number) => (n % 7 === 0 ? 'deleted' : n % 11 === 0 ? null : 'live');
const numbers = (pred: (n: number) => boolean) => Array.from({ length: ROWS }, (_, i) => i + 1).filter(pred);
const LIVE_OR_NULL = numbers((n) => status(n) !== 'deleted').length;
const NOT_DELETED = { record_status: { not: 'deleted' } };

/** `count` distinct numbers of `pool`, chosen by the seeded random. */
function pickDistinct(rand: ReturnType<typeof seededRandom>, pool: number[], count: number, taken: Set<number>): number[] {
  const out: number[] = [];
  while (out.length < count) {
    const n = rand.pick(pool);
    if (taken.has(n)) continue;
    taken.add(n);
    out.push(n);
  }
  return out;
}

for (const dialect of ['mysql', 'postgres'] as const) {
  describe(`reconcile.where on ${dialect === 'mysql' ? 'MariaDB' : 'PostgreSQL'} legacy`, () => {
    let legacyDb: TestDb;
    let storeDb: TestDb;
    let legacy: Executor;
    let store: EventStore;
    let table = '';
    const p = (i: number) => (dialect === 'mysql' ? '?' : `$${i}`);
    const rand = seededRandom(`reconcile.where plants (${dialect})`);
    const taken = new Set<number>();
    const plants = {
      deletedGoneFromReadModel: pickDistinct(
        rand,
        numbers((n) => status(n) === 'deleted'),
        5,
        taken,
      ),
      deletedDiffering: pickDistinct(
        rand,
        numbers((n) => status(n) === 'deleted'),
        5,
        taken,
      ),
      liveDiffering: pickDistinct(
        rand,
        numbers((n) => status(n) === 'live'),
        4,
        taken,
      ),
      nullDiffering: pickDistinct(
        rand,
        numbers((n) => status(n) === null),
        1,
        taken,
      ),
      liveMissing: pickDistinct(
        rand,
        numbers((n) => status(n) === 'live'),
        2,
        taken,
      ),
    };
    const legacyOnlyDeleted = [ROWS + 1, ROWS + 2, ROWS + 3];
    const readModelOnlyDeleted = [ROWS + 10, ROWS + 11];

    function reconciler(where: unknown, settings: Record<string, unknown> = {}) {
      const config = configSchema.parse({
        legacy: { upstream: 'http://127.0.0.1:3000' },
        reconciliation: { graceMs: 0, chunkSize: 1000, ...settings },
        entities: { [table]: { projection: 'row', reconcile: { columns: ['id', 'title', 'record_status'], where } } },
      });
      return createReconciler({
        config,
        legacy,
        store: store.db,
        projections: [{ entity: table, module: { name: table } }],
        logger: silentLogger(),
      });
    }
    const run = async (where: unknown, settings: Record<string, unknown> = {}) =>
      finished(await reconciler(where, settings).run({ entity: table }));

    beforeAll(async () => {
      legacyDb = dialect === 'mysql' ? await createMysqlTestDb('where') : await createPgTestDb('wherel');
      storeDb = await createPgTestDb('wheres');
      legacy = await connect({ url: legacyDb.url, max: 2 });
      store = await openEventStore({ url: storeDb.url, migrate: true, poolSize: 4 });
      table = 'articles';
      const statusSql = (n: string) => `CASE WHEN ${n} % 7 = 0 THEN 'deleted' WHEN ${n} % 11 = 0 THEN NULL ELSE 'live' END`;
      if (dialect === 'mysql') {
        await legacy.exec(`CREATE TABLE articles (id varchar(20) PRIMARY KEY, title varchar(40) NOT NULL, record_status varchar(10) NULL)`);
        await legacy.exec(
          `INSERT INTO articles SELECT CONCAT('a', LPAD(seq, 6, '0')), CONCAT('title ', seq), ${statusSql('seq')} FROM seq_1_to_${ROWS}`,
        );
      } else {
        await legacy.exec(`CREATE TABLE articles (id text PRIMARY KEY, title text NOT NULL, record_status text NULL);
          INSERT INTO articles SELECT 'a' || lpad(n::text, 6, '0'), 'title ' || n, ${statusSql('n')} FROM generate_series(1, ${ROWS}) n`);
      }
      await store.db.exec(`CREATE TABLE articles (id text PRIMARY KEY, title text NOT NULL, record_status text NULL);
        INSERT INTO articles SELECT 'a' || lpad(n::text, 6, '0'), 'title ' || n, ${statusSql('n')} FROM generate_series(1, ${ROWS}) n`);

      // Drift the filter must hide: soft-deleted rows gone from, or different in, the read
      // model; soft-deleted rows only one side has.
      for (const n of plants.deletedGoneFromReadModel) await store.db.query('DELETE FROM articles WHERE id = $1', [k(n)]);
      for (const n of plants.deletedDiffering) await store.db.query(`UPDATE articles SET title = 'stale' WHERE id = $1`, [k(n)]);
      for (const n of legacyOnlyDeleted) await legacy.query(`INSERT INTO articles VALUES (${p(1)}, 'gone', 'deleted')`, [k(n)]);
      for (const n of readModelOnlyDeleted) await store.db.query(`INSERT INTO articles VALUES ($1, 'gone', 'deleted')`, [k(n)]);
      // Drift it must still find: live rows (and a row with no status: not "deleted") that differ or are missing.
      for (const n of [...plants.liveDiffering, ...plants.nullDiffering])
        await legacy.query(`UPDATE articles SET title = 'changed' WHERE id = ${p(1)}`, [k(n)]);
      for (const n of plants.liveMissing) await store.db.query('DELETE FROM articles WHERE id = $1', [k(n)]);
    }, 60_000);

    afterAll(async () => {
      await legacy?.close();
      await store?.close();
      await legacyDb?.drop();
      await storeDb?.drop();
    });

    const expected = () => ({
      legacyRows: LIVE_OR_NULL,
      readModelRows: LIVE_OR_NULL - plants.liveMissing.length,
      differing: plants.liveDiffering.length + plants.nullDiffering.length,
      missingInProjection: plants.liveMissing.length,
      extraInProjection: 0,
    });

    async function diffKeys(runId: number) {
      const { rows } = await store.db.query<{ key_text: string; class: string }>(
        `SELECT key_text, class FROM strangler_reconcile_diffs WHERE run_id = $1 AND status = 'confirmed' ORDER BY key_text`,
        [runId],
      );
      return rows.map((r) => [r.key_text, r.class]);
    }
    const keyText = k;
    const expectedKeys = () =>
      [
        ...[...plants.liveDiffering, ...plants.nullDiffering].map((n) => [keyText(n), 'differing']),
        ...plants.liveMissing.map((n) => [keyText(n), 'missing']),
      ].sort((a, b) => (a[0]! < b[0]! ? -1 : 1));

    it('without a filter every planted difference counts (the baseline the filter changes)', async () => {
      const report = await run(undefined);
      expect(report).toMatchObject({
        legacyRows: ROWS + legacyOnlyDeleted.length,
        differing: 10,
        missingInProjection: 2 + 5 + legacyOnlyDeleted.length,
        extraInProjection: readModelOnlyDeleted.length,
      });
    }, 60_000);

    it('through the in-database prefilter and its narrowing: only live rows are compared, and exactly the live drift is found', async () => {
      const report = await run({ legacy: NOT_DELETED, readModel: NOT_DELETED });
      expect(report.prefilter.enabled).toBe(true);
      expect(report.prefilter.reason).toMatch(/differing chunk\(s\) narrowed in the databases/);
      expect(report).toMatchObject(expected());
      const keys = await diffKeys(report.runId);
      expect(keys).toEqual(expectedKeys());
    }, 60_000);

    it('the TypeScript-only path (prefilter off) finds the same', async () => {
      const report = await run({ legacy: NOT_DELETED, readModel: NOT_DELETED }, { prefilter: 'off' });
      expect(report.prefilter.enabled).toBe(false);
      expect(report).toMatchObject(expected());
      expect(await diffKeys(report.runId)).toEqual(expectedKeys());
    }, 60_000);

    it('value, null and in forms select the rows they say', async () => {
      const count = (pred: (n: number) => boolean) => numbers(pred).length;
      const live = await run({ legacy: { record_status: 'live' }, readModel: { record_status: { in: ['live', 'archived'] } } });
      expect(live).toMatchObject({ legacyRows: count((n) => status(n) === 'live'), missingInProjection: 2, differing: 4 });
      const noStatus = await run({ legacy: { record_status: null }, readModel: { record_status: null } }, { prefilter: 'off' });
      expect(noStatus).toMatchObject({ legacyRows: count((n) => status(n) === null), differing: 1, missingInProjection: 0 });
      const anyStatus = await run({ legacy: { record_status: { not: null } }, readModel: { record_status: { not: null } } });
      expect(anyStatus.legacyRows).toBe(count((n) => status(n) !== null) + legacyOnlyDeleted.length);
    }, 60_000);

    it('a repair appends the legacy after-image for a row the legacy filter leaves out, never a removal', async () => {
      // Only legacy is filtered: the read model's soft-deleted rows look extra.
      const r = reconciler({ legacy: NOT_DELETED });
      const report = finished(await r.run({ entity: table }));
      const softDeletedBoth = numbers((n) => status(n) === 'deleted').filter((n) => !plants.deletedGoneFromReadModel.includes(n));
      expect(report.extraInProjection).toBe(softDeletedBoth.length + readModelOnlyDeleted.length);
      const repair = await repairRun({
        plan: await r.plan(table),
        run: (await getRun(store.db, report.runId))!,
        legacy,
        store: store.db,
        apply: false,
      });
      const byKey = new Map(repair.actions.map((a) => [String(a.key[0]), a]));
      for (const n of softDeletedBoth) {
        expect(byKey.get(k(n))).toMatchObject({
          class: 'extra',
          event: 'StranglerRowRepaired',
          data: { id: k(n), record_status: 'deleted' },
        });
      }
      // Rows legacy does not have at all are still removed.
      for (const n of readModelOnlyDeleted) expect(byKey.get(k(n))).toMatchObject({ class: 'extra', event: 'StranglerRowRemoved' });
    }, 60_000);

    it('refuses a filter on a column the table does not have, naming the field and showing an example', async () => {
      await expect(reconciler({ readModel: { record_stat: 'live' } }).plan(table)).rejects.toThrow(
        /entities\.articles\.reconcile\.where\.readModel: the read-model table articles has no column "record_stat" \(its columns: id, title, record_status\); e\.g\. where: \{ readModel: \{ record_status: \{ not: deleted \} \} \}/,
      );
      await expect(reconciler({ legacy: { Title: { in: ['x'] }, nope: null } }).plan(table)).rejects.toThrow(
        dialect === 'mysql' ? /legacy table articles has no column "nope"/ : /legacy table articles has no column "Title"/,
      );
    });
  });
}
