/**
 * Reconciliation of text keys under non-binary collations (issue 11, item 2), real MariaDB
 * and PostgreSQL, no change to the legacy table: utf8mb4_general_ci, utf8mb4_unicode_ci and
 * latin1_swedish_ci keys on MariaDB, an ICU key on a PostgreSQL legacy. The keys sort
 * differently under the collation than in bytes (mixed case, accents, '_' between 'Z' and
 * 'a'), and some are equal under the collation but not in bytes: the legacy 'abc' and the
 * read model's 'abc' and 'ABC', the legacy 'x ' (PAD SPACE) and the read model's 'x', the
 * legacy 'Äpfel' and the read model's 'äpfel'. Every such pair is reported (a missing and an
 * extra row), never merged; every other row matches; with the prefilter and without.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.ts';
import { connect } from '../../src/db/connect.ts';
import type { Executor } from '../../src/db/executor.ts';
import { openEventStore, type EventStore } from '../../src/eventstore/index.ts';
import { createReconciler } from '../../src/reconcile/reconciler.ts';
import type { ReconcileReport } from '../../src/reconcile/report/types.ts';
import { finished } from '../helpers/reconcile.ts';
import { seededRandom } from '../helpers/seed.ts';
import { createMysqlTestDb, createPgTestDb, type TestDb } from '../harness/db.ts';

let mariaDb: TestDb;
let pgLegacyDb: TestDb;
let storeDb: TestDb;
let maria: Executor & { close(): Promise<void> };
let pgLegacy: Executor & { close(): Promise<void> };
let store: EventStore;

const rand = seededRandom('reconcile collation keys');
const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789';
/** 300 keys distinct even case- and accent-insensitively, mixed case, so that chunks cut between them. */
const generated = (() => {
  const seen = new Set<string>();
  const out: string[] = [];
  while (out.length < 300) {
    const k = Array.from({ length: rand.int(1, 8) }, () => rand.pick([...LETTERS])).join('');
    if (seen.has(k.toLowerCase())) continue;
    seen.add(k.toLowerCase());
    out.push(`g${k}`);
  }
  return out;
})();

/** [key, value] rows of each side, and the differences they must give. */
const SAME = ['apple', 'Banana', 'cherry', 'éclair', 'Zulu', 'zebra', '_under', 'abc', 'Ärger', 'b', 'A', 'Ü', ...generated];
const legacyRows: [string, number][] = [...SAME.map((k, i) => [k, i] as [string, number]), ['x ', 900], ['Äpfel', 901], ['Mango', 902]];
const readModelRows: [string, number][] = [
  ...SAME.map((k, i) => [k, k === 'cherry' ? i + 1 : i] as [string, number]),
  ['ABC', 7], // equal to the legacy 'abc' under the collation
  ['x', 900], // equal to the legacy 'x ' under PAD SPACE
  ['äpfel', 901], // equal to the legacy 'Äpfel' case-insensitively
  ['kiwi', 903],
];
const EXPECTED = [
  ['cherry', 'differing'],
  ['x ', 'missing'],
  ['Äpfel', 'missing'],
  ['Mango', 'missing'],
  ['ABC', 'extra'],
  ['x', 'extra'],
  ['äpfel', 'extra'],
  ['kiwi', 'extra'],
].sort();

beforeAll(async () => {
  [mariaDb, pgLegacyDb, storeDb] = await Promise.all([createMysqlTestDb('coll'), createPgTestDb('colll'), createPgTestDb('colls')]);
  maria = await connect({ url: mariaDb.url, max: 2 });
  pgLegacy = await connect({ url: pgLegacyDb.url, max: 2 });
  store = await openEventStore({ url: storeDb.url, migrate: true, poolSize: 4 });
}, 60_000);

afterAll(async () => {
  await maria?.close();
  await pgLegacy?.close();
  await store?.close();
  await Promise.all([mariaDb?.drop(), pgLegacyDb?.drop(), storeDb?.drop()]);
});

async function fill(db: Executor, table: string, rows: [string, number][]) {
  const p = (i: number) => (db.dialect === 'mysql' ? '?' : `$${i}`);
  for (let i = 0; i < rows.length; i += 100) {
    const page = rows.slice(i, i + 100);
    await db.query(
      `INSERT INTO ${table} (id, v) VALUES ${page.map((_, j) => `(${p(2 * j + 1)}, ${p(2 * j + 2)})`).join(', ')}`,
      page.flat(),
    );
  }
}

type Deps = Partial<Pick<Parameters<typeof createReconciler>[0], 'owner' | 'staleMs' | 'afterChunk'>>;

function reconcilerFor(legacy: Executor, table: string, prefilter: 'auto' | 'off', deps: Deps = {}) {
  const config = configSchema.parse({
    legacy: { upstream: 'http://127.0.0.1:3000' },
    reconciliation: { graceMs: 0, chunkSize: 50, targetChunkMs: 1, maxSamples: 100, prefilter },
    entities: { [table]: { projection: 'row', reconcile: { columns: ['id', 'v'] } } },
  });
  return createReconciler({ config, legacy, store: store.db, projections: [{ entity: table, module: { name: table } }], ...deps });
}

async function reconcile(legacy: Executor, table: string, prefilter: 'auto' | 'off'): Promise<{ report: ReconcileReport; plan: unknown }> {
  const config = configSchema.parse({
    legacy: { upstream: 'http://127.0.0.1:3000' },
    reconciliation: { graceMs: 0, chunkSize: 50, targetChunkMs: 1, maxSamples: 100, prefilter },
    entities: { [table]: { projection: 'row', reconcile: { columns: ['id', 'v'] } } },
  });
  const reconciler = createReconciler({ config, legacy, store: store.db, projections: [{ entity: table, module: { name: table } }] });
  const plan = await reconciler.plan(table);
  return { report: finished(await reconciler.run({ entity: table })), plan: plan.keyWalk };
}

async function expectExactDifferences(legacy: Executor, table: string) {
  for (const prefilter of ['auto', 'off'] as const) {
    const { report } = await reconcile(legacy, table, prefilter);
    expect(report.samples.map((d) => [d.key[0], d.class]).sort(), `prefilter ${prefilter}`).toEqual(EXPECTED);
    expect(report).toMatchObject({ legacyRows: legacyRows.length, readModelRows: readModelRows.length });
    expect(report.matched, `prefilter ${prefilter}`).toBe(SAME.length - 1);
    expect(report.chunks).toBeGreaterThan(3); // chunk bounds fall between the keys
    if (prefilter === 'auto') expect(report.prefilter).toMatchObject({ enabled: true });
    expect(report.prefilter.reason).toMatch(/legacy collation/);
  }
}

describe('MariaDB legacy key under a non-binary collation, PostgreSQL read model', () => {
  for (const [charset, collation] of [
    ['utf8mb4', 'utf8mb4_general_ci'],
    ['utf8mb4', 'utf8mb4_unicode_ci'],
    ['latin1', 'latin1_swedish_ci'],
  ] as const) {
    it(`${collation}: every key pair equal under the collation but not in bytes is reported, every other row matches`, async () => {
      const table = `k_${collation}`;
      await maria.exec(`CREATE TABLE ${table} (id varchar(40) CHARACTER SET ${charset} COLLATE ${collation} PRIMARY KEY, v int NOT NULL)`);
      await store.db.exec(`CREATE TABLE ${table} (id text PRIMARY KEY, v int NOT NULL)`);
      await fill(maria, table, legacyRows);
      await fill(store.db, table, readModelRows);
      const { plan } = await reconcile(maria, table, 'off');
      expect(plan).toEqual({ by: 'legacy', collation, bytewise: false, padSpace: true, readModelBytewise: true });
      await expectExactDifferences(maria, table);
    });
  }

  it('keys whose collation order is their byte order (lower-case UUID-like): chunks checked as byte ranges, differences inside a range still exact', async () => {
    const key = (n: number) => `${n.toString(16).padStart(8, '0')}-cafe`;
    const rows = Array.from({ length: 400 }, (_, i) => [key(i * 7919 + 13), i] as [string, number]);
    await maria.exec(`CREATE TABLE k_lower (id char(13) COLLATE utf8mb4_general_ci PRIMARY KEY, v int NOT NULL)`);
    await store.db.exec(`CREATE TABLE k_lower (id varchar(14) PRIMARY KEY, v int NOT NULL)`);
    await fill(maria, 'k_lower', rows);
    await fill(store.db, 'k_lower', rows);
    const sorted = rows.map((r) => r[0]).sort();
    // Inside the byte ranges of chunks: an extra row between two legacy keys, a changed and a missing row.
    await store.db.query(`INSERT INTO k_lower VALUES ($1, 1)`, [`${sorted[100]}x`]);
    await store.db.query(`UPDATE k_lower SET v = v + 1 WHERE id = $1`, [sorted[200]]);
    await store.db.query(`DELETE FROM k_lower WHERE id = $1`, [sorted[300]]);
    for (const prefilter of ['auto', 'off'] as const) {
      const { report } = await reconcile(maria, 'k_lower', prefilter);
      expect(report.samples.map((d) => [d.key[0], d.class]).sort(), `prefilter ${prefilter}`).toEqual(
        [
          [`${sorted[100]}x`, 'extra'],
          [sorted[200], 'differing'],
          [sorted[300], 'missing'],
        ].sort(),
      );
      expect(report).toMatchObject({ legacyRows: 400, readModelRows: 400, matched: 398 });
      if (prefilter === 'auto') expect(report.prefilteredChunks).toBeGreaterThan(0);
    }
  });

  it('a run whose owner died is resumed from the last chunk in the legacy order, with the same exact differences', async () => {
    await maria.exec(`CREATE TABLE k_resume (id varchar(40) COLLATE utf8mb4_general_ci PRIMARY KEY, v int NOT NULL)`);
    await store.db.exec(`CREATE TABLE k_resume (id text PRIMARY KEY, v int NOT NULL)`);
    await fill(maria, 'k_resume', legacyRows);
    await fill(store.db, 'k_resume', readModelRows);
    let stall: () => void = () => {};
    const stalled = new Promise<void>((resolve) => (stall = resolve));
    const afterChunk = (n: number) => (n === 3 ? (stall(), new Promise<void>(() => {})) : undefined);
    void reconcilerFor(maria, 'k_resume', 'auto', { owner: 'replica-a', afterChunk }).run();
    await stalled;
    await new Promise((r) => setTimeout(r, 1200));
    let bChunks = 0;
    const b = finished(
      await reconcilerFor(maria, 'k_resume', 'auto', { owner: 'replica-b', staleMs: 1000, afterChunk: () => void bChunks++ }).run(),
    );
    expect(b.resumed).toBe(true);
    expect(b.chunks).toBe(bChunks + 3 + 1); // the extras pass is recorded as one more chunk
    expect(b.samples.map((d) => [d.key[0], d.class]).sort()).toEqual(EXPECTED);
    expect(b).toMatchObject({ legacyRows: legacyRows.length, readModelRows: readModelRows.length, matched: SAME.length - 1 });
  }, 60_000);

  it('a composite key with a case-insensitive text column is refused with the reason and the way out', async () => {
    await maria.exec(`CREATE TABLE k_pair (a varchar(10) COLLATE utf8mb4_general_ci NOT NULL, b int NOT NULL, v int, PRIMARY KEY (a, b))`);
    await store.db.exec(`CREATE TABLE k_pair (a text NOT NULL, b int NOT NULL, v int, PRIMARY KEY (a, b))`);
    const config = configSchema.parse({
      legacy: { upstream: 'http://127.0.0.1:3000' },
      entities: { k_pair: { projection: 'row', reconcile: { key: ['a', 'b'], columns: ['a', 'b', 'v'] } } },
    });
    const reconciler = createReconciler({
      config,
      legacy: maria,
      store: store.db,
      projections: [{ entity: 'k_pair', module: { name: 'k_pair' } }],
    });
    await expect(reconciler.plan('k_pair')).rejects.toThrow(/k_pair\.a uses collation utf8mb4_general_ci.*composite key.*utf8mb4_bin/);
  });

  it('with reconcile.where on both sides: only kept rows are compared, probed and counted for extras', async () => {
    await maria.exec(
      `CREATE TABLE k_where (id varchar(40) COLLATE utf8mb4_general_ci PRIMARY KEY, v int NOT NULL, st varchar(10) NOT NULL)`,
    );
    await store.db.exec(`CREATE TABLE k_where (id text PRIMARY KEY, v int NOT NULL, st text NOT NULL)`);
    const live = SAME.map((k, i) => [k, i, 'live']);
    await maria.query(`INSERT INTO k_where VALUES ${live.map(() => '(?, ?, ?)').join(', ')}, ('Gone', 1, 'deleted')`, live.flat());
    const rm = [...live, ['Gone', 1, 'live'], ['ABC', 7, 'live'], ['hidden', 2, 'deleted']];
    await store.db.query(`INSERT INTO k_where SELECT * FROM unnest($1::text[], $2::int[], $3::text[])`, [
      rm.map((r) => r[0]),
      rm.map((r) => r[1]),
      rm.map((r) => r[2]),
    ]);
    for (const prefilter of ['auto', 'off'] as const) {
      const config = configSchema.parse({
        legacy: { upstream: 'http://127.0.0.1:3000' },
        reconciliation: { graceMs: 0, chunkSize: 50, targetChunkMs: 1, maxSamples: 100, prefilter },
        entities: {
          k_where: {
            projection: 'row',
            reconcile: { columns: ['id', 'v'], where: { legacy: { st: 'live' }, readModel: { st: 'live' } } },
          },
        },
      });
      const r = createReconciler({
        config,
        legacy: maria,
        store: store.db,
        projections: [{ entity: 'k_where', module: { name: 'k_where' } }],
      });
      const report = finished(await r.run({ entity: 'k_where' }));
      // 'Gone' is kept on the read model only; 'hidden' is filtered out there; 'ABC' is only there.
      expect(report.samples.map((d) => [d.key[0], d.class]).sort(), `prefilter ${prefilter}`).toEqual([
        ['ABC', 'extra'],
        ['Gone', 'extra'],
      ]);
      expect(report).toMatchObject({ legacyRows: SAME.length, readModelRows: SAME.length + 2, matched: SAME.length });
    }
  });

  it('a binary key keeps the byte walk', async () => {
    await maria.exec(`CREATE TABLE k_bin (id varchar(40) COLLATE utf8mb4_bin PRIMARY KEY, v int NOT NULL)`);
    await store.db.exec(`CREATE TABLE k_bin (id text PRIMARY KEY, v int NOT NULL)`);
    const { plan } = await reconcile(maria, 'k_bin', 'off');
    expect(plan).toEqual({ by: 'bytes' });
  });
});

describe('PostgreSQL legacy key under an ICU collation', () => {
  it('en-US-x-icu on both sides: every key pair different in bytes is reported, every other row matches', async () => {
    await pgLegacy.exec(`CREATE TABLE k_icu (id text COLLATE "en-US-x-icu" PRIMARY KEY, v int NOT NULL)`);
    await store.db.exec(`CREATE TABLE k_icu (id text COLLATE "en-US-x-icu" PRIMARY KEY, v int NOT NULL)`);
    await fill(pgLegacy, 'k_icu', legacyRows);
    await fill(store.db, 'k_icu', readModelRows);
    await expectExactDifferences(pgLegacy, 'k_icu');
    const { plan } = await reconcile(pgLegacy, 'k_icu', 'off');
    expect(plan).toEqual({ by: 'legacy', collation: 'en-US-x-icu', bytewise: false, padSpace: false, readModelBytewise: false });
  });
});
