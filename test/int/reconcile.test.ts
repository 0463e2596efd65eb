import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configSchema, type ConfigSpec } from '../../src/config/schema.ts';
import { createMysqlExecutor } from '../../src/db/mysqlExecutor.ts';
import { openEventStore, type EventStore } from '../../src/eventstore/index.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { verifyStream } from '../../src/doctor/index.ts';
import { createOrdersProjection, orderFold } from '../../examples/legacy-orders/projections/orders/index.ts';
import { createReconciler, type ReconcilerDeps } from '../../src/reconcile/reconciler.ts';
import { repairRun } from '../../src/reconcile/repair/repair.ts';
import { createLegacyReader, isStatementTimeout } from '../../src/reconcile/engine/legacyLimits.ts';
import { getRun } from '../../src/reconcile/store/runs.ts';
import { createMysqlTestDb, createPgTestDb, type TestDb } from '../harness/db.ts';
import { finished, projectOrders } from '../helpers/reconcile.ts';

// Reconciliation of the sample's orders table: MariaDB legacy against the PostgreSQL read
// model built by the orders projection. 100,000 rows, drift planted directly in legacy.
// Seeded once into pristine databases; every test works on fresh copies of both (and so on
// an event store of its own), whatever ran before it and in whatever order.
const ROWS = 100_000;
const ROOT = path.resolve(import.meta.dirname, '../..');

let legacySeed: TestDb;
let storeSeed: TestDb;
let legacyDb: TestDb;
let storeDb: TestDb;
let legacy: ReturnType<typeof createMysqlExecutor>;
let store: EventStore;
const module = createOrdersProjection();

const id = (n: number) => `ord_${n.toString(16).padStart(16, '0')}`;
const pad = (n: number, w = 2) => String(n).padStart(w, '0');
function row(n: number) {
  const t = Date.UTC(2026, 0, 1) + n * 1000;
  const d = new Date(t);
  const ts = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(n % 1_000_000, 6)}`;
  return [id(n), `cust-${n % 997}`, ['CREATED', 'PAID', 'CANCELLED'][n % 3]!, `${Math.floor((n % 100_000) / 100)}.${pad(n % 100)}`, ts, ts];
}

/** Three items for each order of [from, to): 'SKU-a', 'SKU-b', 'sku-c' (binary collation: three keys). */
const items = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) =>
    ['SKU-a', 'SKU-b', 'sku-c'].map((sku, j) => [id(from + i), sku, j + 1, `${(from + i) % 50}.25`]),
  ).flat();

async function seed(legacy: ReturnType<typeof createMysqlExecutor>, store: EventStore) {
  await legacy.exec(readFileSync(path.join(ROOT, 'examples/legacy-orders/schema/mysql.sql'), 'utf8'));
  await store.db.exec(module.ddl({ orders: 'orders', order_items: 'order_items', order_tombstones: 'order_tombstones' }));
  for (let from = 1; from <= ROWS; from += 5000) {
    const batch = Array.from({ length: Math.min(5000, ROWS - from + 1) }, (_, i) => row(from + i));
    await legacy.query('INSERT INTO orders (id, customer_id, status, total_amount, created_at, updated_at) VALUES ?', [batch]);
    // Loaded before dual-write started (last_version 0): the first event of a stream applies on top.
    await store.db.query(
      `INSERT INTO orders (id, customer_id, status, total_amount, created_at, updated_at, last_version)
       SELECT r.id, r.c, r.s, r.t::numeric, r.ca::timestamp, r.ua::timestamp, 0 FROM json_to_recordset($1::json) AS r(id text, c text, s text, t text, ca text, ua text)`,
      [JSON.stringify(batch.map(([i, c, s, t, ca, ua]) => ({ id: i, c, s, t, ca, ua })))],
    );
  }
  const itemRows = items(1000, 2000);
  await legacy.query('INSERT INTO order_items (order_id, sku, quantity, price) VALUES ?', [itemRows]);
  await store.db.query(
    `INSERT INTO order_items SELECT r.o, r.s, r.q, r.p::numeric FROM json_to_recordset($1::json) AS r(o text, s text, q int, p text)`,
    [JSON.stringify(itemRows.map(([o, s, q, p]) => ({ o, s, q, p })))],
  );
}

function config(overrides: Record<string, unknown> = {}): Pick<ConfigSpec, 'entities' | 'reconciliation'> {
  return configSchema.parse({
    legacy: { upstream: 'http://127.0.0.1:3000' },
    entities: { orders: { stream: 'orders-{id}', projection: 'row', reconcile: { columns: 'all' } } },
    reconciliation: { graceMs: 0, chunkSize: 2000, ...overrides },
  });
}

function reconciler(extra: Partial<ReconcilerDeps> = {}, settings: Record<string, unknown> = {}) {
  return createReconciler({
    config: config(settings),
    legacy,
    store: store.db,
    projections: [{ entity: 'orders', module }],
    logger: silentLogger(),
    ...extra,
  });
}

async function diffKeys(runId: number, status = 'confirmed') {
  const { rows } = await store.db.query<{ key_text: string; class: string; columns: string[] }>(
    `SELECT key_text, class, columns FROM strangler_reconcile_diffs WHERE run_id = $1 AND status = $2 ORDER BY key_text`,
    [runId, status],
  );
  return rows;
}

beforeAll(async () => {
  legacySeed = await createMysqlTestDb('reconcile_seed');
  storeSeed = await createPgTestDb('reconcile_seed');
  const l = createMysqlExecutor({ url: legacySeed.url, max: 4 });
  const s = await openEventStore({ url: storeSeed.url, migrate: true, poolSize: 4 });
  try {
    await seed(l, s);
  } finally {
    // Closed: PostgreSQL copies a template only while nothing is connected to it.
    await l.close();
    await s.close();
  }
}, 120_000);

beforeEach(async () => {
  legacyDb = await createMysqlTestDb('reconcile', { template: legacySeed.name });
  storeDb = await createPgTestDb('reconcile', { template: storeSeed.name });
  legacy = createMysqlExecutor({ url: legacyDb.url, max: 4 });
  store = await openEventStore({ url: storeDb.url, migrate: true, poolSize: 4 });
}, 120_000);

afterEach(async () => {
  await legacy?.close();
  await store?.close();
  await legacyDb?.drop();
  await storeDb?.drop();
}, 120_000);

afterAll(async () => {
  await legacySeed?.drop();
  await storeSeed?.drop();
});

describe('reconciliation: MariaDB orders vs the PostgreSQL read model', () => {
  it('finds two identical tables identical, through the in-database prefilter after its self-test', async () => {
    const report = finished(await reconciler().run({ trigger: 'test' }));
    expect(report).toMatchObject({
      legacyRows: ROWS,
      readModelRows: ROWS,
      matched: ROWS,
      missingInProjection: 0,
      extraInProjection: 0,
      differing: 0,
      pending: 0,
      mismatchRate: 0,
      verdict: 'within_tolerance',
    });
    expect(report.prefilter.enabled).toBe(true);
    expect(report.prefilteredChunks).toBe(report.chunks);
    expect(report.tableSha256.legacy).toBe(report.tableSha256.readModel);
    expect(report.columns.map((c) => c.legacy)).toEqual(['id', 'customer_id', 'status', 'total_amount', 'created_at', 'updated_at']);
  });

  it('the TypeScript-only path (prefilter off) gives the same table digests', async () => {
    const withPrefilter = finished(await reconciler().run());
    const tsOnly = finished(await reconciler({}, { prefilter: 'off' }).run());
    expect(tsOnly.prefilter.enabled).toBe(false);
    expect(tsOnly.prefilteredChunks).toBe(0);
    expect(tsOnly.matched).toBe(ROWS);
    expect(tsOnly.tableSha256).toEqual(withPrefilter.tableSha256);
  });

  const changed = {
    status: [101, 5003, 20011, 33333, 47000, 52111, 60001, 77777, 88888, 99990],
    total_amount: [7, 15001, 45045, 70707, 99999],
    customer_id: [2, 30303, 54321, 66666, 91919],
  };
  const deleted = [1, 12345, 50000, 75000, 100000];
  const added = [100_001, 100_002, 100_500, 123_456, 200_000];

  it('plants 30 differences in legacy and reports exactly those keys, classes and columns; repair converges through the log', async () => {
    for (const n of changed.status)
      await legacy.query(`UPDATE orders SET status = IF(status = 'PAID', 'CANCELLED', 'PAID') WHERE id = ?`, [id(n)]);
    for (const n of changed.total_amount) await legacy.query('UPDATE orders SET total_amount = total_amount + 0.01 WHERE id = ?', [id(n)]);
    for (const n of changed.customer_id)
      await legacy.query(`UPDATE orders SET customer_id = CONCAT(customer_id, ' ') WHERE id = ?`, [id(n)]);
    await legacy.query('DELETE FROM orders WHERE id IN (?)', [deleted.map(id)]);
    await legacy.query('INSERT INTO orders (id, customer_id, status, total_amount, created_at, updated_at) VALUES ?', [added.map(row)]);

    const report = finished(await reconciler().run());
    expect(report).toMatchObject({
      legacyRows: ROWS,
      readModelRows: ROWS,
      missingInProjection: 5,
      extraInProjection: 5,
      differing: 20,
      pending: 0,
      verdict: 'over_tolerance',
    });
    expect(report.mismatchRate).toBeCloseTo(30 / ROWS, 12);
    expect(report.differingColumns).toEqual({ customer_id: 5, status: 10, total_amount: 5 });
    expect(report.tableSha256.legacy).not.toBe(report.tableSha256.readModel);
    expect(report.prefilteredChunks).toBeLessThan(report.chunks);

    const expected = [
      ...changed.status.map((n) => ({ key_text: id(n), class: 'differing', columns: ['status'] })),
      ...changed.total_amount.map((n) => ({ key_text: id(n), class: 'differing', columns: ['total_amount'] })),
      ...changed.customer_id.map((n) => ({ key_text: id(n), class: 'differing', columns: ['customer_id'] })),
      ...deleted.map((n) => ({ key_text: id(n), class: 'extra', columns: [] })),
      ...added.map((n) => ({ key_text: id(n), class: 'missing', columns: [] })),
    ].sort((a, b) => (a.key_text < b.key_text ? -1 : 1));
    expect(await diffKeys(report.runId)).toEqual(expected);
    // Samples carry both canonical values.
    const sample = report.samples.find((s) => s.key[0] === id(7))!;
    expect(sample.legacy!.total_amount).toBe('0.08');
    expect(sample.readModel!.total_amount).toBe('0.07');

    const run = (await getRun(store.db, report.runId))!;
    const plan = await reconciler().plan('orders');
    const dry = await repairRun({ plan, run, legacy, store: store.db, apply: false });
    expect(dry.counts).toMatchObject({ planned: 30, appended: 0 });
    expect(await store.headPosition()).toBe(0);

    const applied = await repairRun({ plan, run, legacy, store: store.db, apply: true });
    expect(applied.counts).toMatchObject({ appended: 30, changed_meanwhile: 0 });
    expect(
      applied.actions
        .filter((a) => a.event === 'StranglerRowRemoved')
        .map((a) => a.key[0])
        .sort(),
    ).toEqual(deleted.map(id).sort());
    // Applying the same run's repair again appends nothing (event ids are per run and key).
    const again = await repairRun({ plan, run, legacy, store: store.db, apply: true });
    expect(again.counts).toMatchObject({ appended: 0, already_appended: 30 });

    await projectOrders(store, module, { batchSize: 500 });
    // The doctor's independent fold agrees with the projection on the corrective events.
    for (const n of [changed.total_amount[0]!, added[0]!]) {
      const v = await verifyStream(store, store.db, `orders-${id(n)}`, {
        targets: [{ entity: 'orders', stream: 'orders-{id}', projection: 'orders', fold: orderFold }],
        snapshotInterval: 100,
      });
      expect(v.differences).toEqual([]);
      expect(v.equal).toBe(true);
    }
    const clean = finished(await reconciler().run());
    expect(clean).toMatchObject({
      legacyRows: ROWS,
      readModelRows: ROWS,
      matched: ROWS,
      missingInProjection: 0,
      extraInProjection: 0,
      differing: 0,
      verdict: 'within_tolerance',
    });
    expect(clean.tableSha256.legacy).toBe(clean.tableSha256.readModel);
    expect(clean.trend).toMatchObject({ previousRunId: report.runId, previousMismatchRate: report.mismatchRate });
  }, 60_000);

  it('a drifted stretch is narrowed in the databases: every drifted row found, few rows compared row by row, the rest still prefiltered', async () => {
    // Every 50th row of the first 8,000 drifts (160 rows); the rest of the table is equal.
    const drifted = Array.from({ length: 160 }, (_, i) => 50 * (i + 1));
    await legacy.query(`UPDATE orders SET status = IF(status = 'PAID', 'CANCELLED', 'PAID') WHERE id IN (?)`, [drifted.map(id)]);
    const report = finished(await reconciler({}, { chunkSize: 1000 }).run());
    expect(report).toMatchObject({ differing: 160, missingInProjection: 0, extraInProjection: 0, matched: ROWS - 160 });
    expect(report.samples.length).toBeGreaterThan(0);
    const m = /(\d+) differing chunk\(s\) narrowed in the databases; (\d+) rows of their differing pieces compared row by row/.exec(
      report.prefilter.reason,
    );
    expect(m).not.toBeNull();
    // Pieces of at most LEAF_ROWS rows around each drifted row, both sides: far fewer than the 8,000 rows of the stretch.
    expect(Number(m![2])).toBeLessThanOrEqual(160 * 2 * 64);
    expect(report.prefilteredChunks).toBeGreaterThan(0);
    expect(report.prefilteredChunks).toBeLessThan(report.chunks);
  }, 60_000);

  it('rows written while a run is in progress are pending (event not projected yet) or resolved on the re-check, not mismatches', async () => {
    const pendingKey = id(99_000); // in a late chunk: the run reads it after the write
    const resolvedKey = id(98_000);
    const driftKey = id(97_000);
    let wrote = false;
    const result = await reconciler(
      {
        afterChunk: async (chunk) => {
          if (chunk !== 1 || wrote) return;
          wrote = true;
          // Through the sidecar: legacy answers, the event is appended; the projection has not run.
          await legacy.query(`UPDATE orders SET status = 'PAID', updated_at = '2026-06-01 00:00:00.000000' WHERE id = ?`, [pendingKey]);
          await store.append(`orders-${pendingKey}`, [{ type: 'OrderPaid', data: {} }]);
          // A write the projection catches up with during the grace window.
          await legacy.query(`UPDATE orders SET customer_id = 'cust-moved' WHERE id = ?`, [resolvedKey]);
          // And real drift: changed in legacy with no event at all.
          await legacy.query(`UPDATE orders SET customer_id = 'cust-drift' WHERE id = ?`, [driftKey]);
        },
        sleep: async () => {
          await store.db.query(`UPDATE orders SET customer_id = 'cust-moved' WHERE id = $1`, [resolvedKey]);
        },
      },
      { graceMs: 1 },
    ).run();
    const report = finished(result);
    expect(wrote).toBe(true);
    expect(report).toMatchObject({ pending: 1, resolvedOnRecheck: 1, differing: 1, missingInProjection: 0, extraInProjection: 0 });
    expect(report.mismatchRate).toBeCloseTo(1 / ROWS, 12);
    expect((await diffKeys(report.runId, 'pending')).map((d) => d.key_text)).toEqual([pendingKey]);
    expect((await diffKeys(report.runId, 'resolved')).map((d) => d.key_text)).toEqual([resolvedKey]);
    expect(await diffKeys(report.runId)).toEqual([{ key_text: driftKey, class: 'differing', columns: ['customer_id'] }]);
  }, 60_000);

  it('one run per entity at a time; a run whose owner died is resumed from its last finished chunk', async () => {
    // Owner A stops for good after its third chunk (as a killed process would: no more heartbeats).
    let stall: () => void = () => {};
    const stalled = new Promise<void>((resolve) => (stall = resolve));
    const a = reconciler(
      { owner: 'replica-a', afterChunk: (n) => (n === 3 ? (stall(), new Promise<void>(() => {})) : undefined) },
      { prefilter: 'off' },
    );
    void a.run();
    await stalled;
    // Overlapping run while A's heartbeat is fresh: skipped.
    const overlapping = (await reconciler({ owner: 'replica-b', staleMs: 60_000 }).run())[0]!;
    expect('outcome' in overlapping && overlapping.outcome.kind).toBe('skipped');
    // Once A is stale, B takes the run over and finishes it from A's cursor.
    await new Promise((r) => setTimeout(r, 1200));
    let bChunks = 0;
    const b = finished(
      await reconciler({ owner: 'replica-b', staleMs: 1000, afterChunk: () => void bChunks++ }, { prefilter: 'off' }).run(),
    );
    expect(b.resumed).toBe(true);
    expect(b).toMatchObject({
      legacyRows: ROWS,
      readModelRows: ROWS,
      matched: ROWS,
      differing: 0,
      missingInProjection: 0,
      extraInProjection: 0,
    });
    expect(b.chunks).toBe(bChunks + 3);
  }, 60_000);

  describe('a composite key: order_items (order_id, sku)', () => {
    const itemsConfig = (settings: Record<string, unknown> = {}) =>
      configSchema.parse({
        legacy: { upstream: 'http://127.0.0.1:3000' },
        entities: {
          order_items: { projection: 'row', reconcile: { key: ['order_id', 'sku'], columns: ['order_id', 'sku', 'quantity', 'price'] } },
        },
        reconciliation: { graceMs: 0, chunkSize: 100, ...settings },
      });
    const itemsReconciler = (settings: Record<string, unknown> = {}, extra: Partial<ReconcilerDeps> = {}) =>
      createReconciler({
        config: itemsConfig(settings),
        legacy,
        store: store.db,
        projections: [{ entity: 'order_items', module: { name: 'order_items' } }],
        ...extra,
      });

    it('walks (order_id, sku) ranges that split an order across chunks and finds each planted key', async () => {
      await legacy.query(`UPDATE order_items SET quantity = 9 WHERE order_id = ? AND sku = 'SKU-b'`, [id(1500)]);
      await legacy.query(`DELETE FROM order_items WHERE order_id = ? AND sku = 'sku-c'`, [id(1234)]);
      await legacy.query(`INSERT INTO order_items VALUES (?, 'SKU-A', 1, 1.00)`, [id(1777)]);
      // targetChunkMs 1 keeps chunks near the 50-row floor: about 60 boundaries, most inside an order.
      const report = finished(await itemsReconciler({ prefilter: 'off', targetChunkMs: 1 }).run());
      expect(report).toMatchObject({
        legacyRows: 3000,
        readModelRows: 3000,
        missingInProjection: 1,
        extraInProjection: 1,
        differing: 1,
        differingColumns: { quantity: 1 },
      });
      expect(report.chunks).toBeGreaterThan(10);
      expect((await diffKeys(report.runId)).map((d) => [JSON.parse(d.key_text) as string[], d.class])).toEqual([
        [[id(1234), 'sku-c'], 'extra'],
        [[id(1500), 'SKU-b'], 'differing'],
        [[id(1777), 'SKU-A'], 'missing'],
      ]);
      const withPrefilter = finished(await itemsReconciler().run());
      expect(withPrefilter.prefilter.enabled).toBe(true);
      expect(withPrefilter).toMatchObject({ missingInProjection: 1, extraInProjection: 1, differing: 1, tableSha256: report.tableSha256 });
      // A composite key names no stream: repair lists the rows and appends nothing.
      const head = await store.headPosition();
      const repair = await repairRun({
        plan: await itemsReconciler().plan('order_items'),
        run: (await getRun(store.db, report.runId))!,
        legacy,
        store: store.db,
        apply: true,
      });
      expect(repair.counts).toMatchObject({ not_repairable: 3, appended: 0 });
      expect(await store.headPosition()).toBe(head);
    });

    it('caps the legacy read rate at maxRowsPerSecond', async () => {
      const started = performance.now();
      const report = finished(
        await itemsReconciler({ prefilter: 'off', chunkSize: 1000, targetChunkMs: 100_000, maxRowsPerSecond: 10_000 }).run(),
      );
      // 3,000 rows in chunks of 1,000 at 10,000 rows/s: the first two chunks are held to 100 ms each.
      expect(report.chunks).toBe(3);
      expect(performance.now() - started).toBeGreaterThanOrEqual(190);
    });

    it('stops a legacy statement at statementTimeoutMs (MariaDB max_statement_time) and knows the error as a timeout', async () => {
      const reader = await createLegacyReader(legacy, 20);
      const err = await reader.query("SELECT COUNT(*) FROM seq_1_to_100000000 WHERE SHA2(seq, 256) LIKE 'ff%'", []).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).not.toBeNull();
      expect(isStatementTimeout(err)).toBe(true);
      expect(isStatementTimeout(new Error('other'))).toBe(false);
    });

    it('pauses while the legacy server is busy, then skips the chunk with the reason', async () => {
      const other = createMysqlExecutor({ url: legacyDb.url, max: 1 });
      try {
        const busy = other.query('SELECT SLEEP(3)');
        await new Promise((r) => setTimeout(r, 100));
        const report = finished(await itemsReconciler({ chunkSize: 1000, pauseWhenThreadsRunning: 1 }, { busyWaitMs: 200 }).run());
        await busy;
        expect(report.skippedChunks.length).toBeGreaterThan(0);
        expect(report.skippedChunks[0]!.reason).toMatch(
          /^legacy database busy: [2-9] statements running \(pauseWhenThreadsRunning 1\) for 0\.2 s$/,
        );
        expect(report.legacyRows).toBeLessThan(3001);
      } finally {
        await other.close();
      }
    });
  });

  it('refuses an entity whose columns it cannot compare, naming the column', async () => {
    await store.db.exec('ALTER TABLE orders ADD COLUMN note point');
    await legacy.exec('ALTER TABLE orders ADD COLUMN note POINT NULL');
    const r = (await reconciler().run())[0]!;
    expect('error' in r && r.error.message).toMatch(
      /legacy orders\.note is point, a type reconciliation cannot compare yet; leave the column out of entities\.orders\.reconcile\.columns or mark it \{ note: ignore \}/,
    );
    const ignored = createReconciler({
      config: configSchema.parse({
        legacy: { upstream: 'http://127.0.0.1:3000' },
        entities: { orders: { projection: 'row', reconcile: { rules: { note: 'ignore' } } } },
        reconciliation: { graceMs: 0 },
      }),
      legacy,
      store: store.db,
      projections: [{ entity: 'orders', module }],
    });
    expect(finished(await ignored.run())).toMatchObject({ matched: ROWS, verdict: 'within_tolerance' });
  }, 60_000);
});
