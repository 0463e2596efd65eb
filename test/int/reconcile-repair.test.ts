import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.ts';
import { connect } from '../../src/db/connect.ts';
import type { Executor } from '../../src/db/executor.ts';
import { openEventStore, type EventStore } from '../../src/eventstore/index.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { createOrdersProjection } from '../../examples/legacy-orders/projections/orders/index.ts';
import { readProjection } from '../../src/projections/runner/projectionRow.ts';
import { createReconciler } from '../../src/reconcile/reconciler.ts';
import { repairRun } from '../../src/reconcile/repair/repair.ts';
import { getRun } from '../../src/reconcile/store/runs.ts';
import { createMysqlTestDb, createPgTestDb, type TestDb } from '../harness/db.ts';
import { finished, projectOrders } from '../helpers/reconcile.ts';

// Repair of the sample's orders with a column left out of the comparison: [id, customer_id,
// status, total_amount, created_at] are compared (updated_at is not, as the sample once had
// it), yet the orders projection needs updated_at. A corrective event carries the whole legacy
// after-image, so the repaired stream replays to the legacy row and the projection keeps
// running. On MariaDB and on PostgreSQL legacy.
const ROOT = path.resolve(import.meta.dirname, '../..');
const ROWS = 20;
const id = (n: number) => `ord_${n.toString(16).padStart(16, '0')}`;
const module = createOrdersProjection();
const COLS = 'id, customer_id, status, total_amount, created_at, updated_at';

function config() {
  return configSchema.parse({
    legacy: { upstream: 'http://127.0.0.1:3000' },
    reconciliation: { graceMs: 0 },
    entities: {
      orders: {
        stream: 'orders-{id}',
        projection: 'row',
        reconcile: { columns: ['id', 'customer_id', 'status', 'total_amount', 'created_at'] },
      },
    },
  });
}

for (const dialect of ['mysql', 'postgres'] as const) {
  describe(`repair on ${dialect === 'mysql' ? 'MariaDB' : 'PostgreSQL'} legacy with the sample's compared columns`, () => {
    let legacyDb: TestDb;
    let storeDb: TestDb;
    let legacy: Executor;
    let store: EventStore;
    const p = (i: number) => (dialect === 'mysql' ? '?' : `$${i}`);

    beforeAll(async () => {
      legacyDb = dialect === 'mysql' ? await createMysqlTestDb('repair') : await createPgTestDb('repairl');
      storeDb = await createPgTestDb('repairs');
      legacy = await connect({ url: legacyDb.url, max: 2 });
      store = await openEventStore({ url: storeDb.url, migrate: true, poolSize: 4 });
      await legacy.exec(readFileSync(path.join(ROOT, `examples/legacy-orders/schema/${dialect}.sql`), 'utf8'));
      await store.db.exec(module.ddl({ orders: 'orders', order_items: 'order_items', order_tombstones: 'order_tombstones' }));
      for (let n = 1; n <= ROWS; n++) {
        const row = [id(n), `cust-${n % 3}`, 'CREATED', `${n}.25`, '2026-01-02 03:04:05.123456', '2026-01-02 03:04:05.123456'];
        await legacy.query(`INSERT INTO orders (${COLS}) VALUES (${row.map((_, i) => p(i + 1)).join(', ')})`, row);
        // Loaded before dual-write started: no stream, last_version 0.
        await store.db.query(`INSERT INTO orders (${COLS}, last_version) VALUES ($1, $2, $3, $4, $5, $6, 0)`, row);
      }
    }, 60_000);

    afterAll(async () => {
      await legacy?.close();
      await store?.close();
      await legacyDb?.drop();
      await storeDb?.drop();
    });

    it('corrective events carry the whole after-image; the projection applies them and the next run is clean', async () => {
      // Drift behind the service's back: a status change (with its updated_at), a row the
      // read model lost, and a row only the read model has.
      await legacy.query(`UPDATE orders SET status = 'PAID', updated_at = '2026-02-03 04:05:06.654321' WHERE id = ${p(1)}`, [id(3)]);
      await store.db.query(`DELETE FROM orders WHERE id = $1`, [id(5)]);
      await store.db.query(`INSERT INTO orders (${COLS}, last_version) VALUES ($1, 'x', 'CREATED', 1, now(), now(), 0)`, [id(999)]);

      const reconciler = createReconciler({
        config: config(),
        legacy,
        store: store.db,
        projections: [{ entity: 'orders', module }],
        logger: silentLogger(),
      });
      const drift = finished(await reconciler.run({ entity: 'orders' }));
      expect(drift).toMatchObject({ differing: 1, missingInProjection: 1, extraInProjection: 1, verdict: 'over_tolerance' });

      const repair = await repairRun({
        plan: await reconciler.plan('orders'),
        run: (await getRun(store.db, drift.runId))!,
        legacy,
        store: store.db,
        apply: true,
      });
      expect(repair.counts).toMatchObject({ appended: 3 });
      const [repaired] = await store.readStream(`orders-${id(3)}`);
      expect(repaired!.data).toMatchObject({ status: 'PAID', updated_at: '2026-02-03T04:05:06.654321Z' });

      await projectOrders(store, module, { batchSize: 100, maxRetries: 1 });
      const projection = await readProjection(store.db, module.name);
      expect(projection!.failure?.error ?? null).toBeNull();
      expect(projection!.status).toBe('running');

      const text = (c: string) => `${c}::text AS ${c}`;
      const select = `SELECT id, customer_id, status, ${text('total_amount')}, ${text('created_at')}, ${text('updated_at')} FROM orders ORDER BY id`;
      const legacyRows = (await legacy.query<Record<string, unknown>>(select.replaceAll('::text', dialect === 'mysql' ? '' : '::text')))
        .rows;
      const readModelRows = (await store.db.query<Record<string, unknown>>(select)).rows;
      const norm = (r: Record<string, unknown>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, String(v)]));
      expect(readModelRows.map(norm)).toEqual(legacyRows.map(norm));

      const after = finished(await reconciler.run({ entity: 'orders' }));
      expect(after).toMatchObject({ verdict: 'within_tolerance', mismatchRate: 0, legacyRows: ROWS, readModelRows: ROWS });
    }, 60_000);
  });
}
