import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEventStore, START, type EventStore } from '../../src/eventstore/index.ts';
import type { RecordedEvent } from '../../src/eventstore/types.ts';
import { entitiesSchema } from '../../src/config/entitySchema.ts';
import { createOrdersProjection, orderUpcasters } from '../../examples/legacy-orders/projections/orders/index.ts';
import { createRowProjection } from '../../src/projections/modules/row/index.ts';
import { loadProjections } from '../../src/projections/registry.ts';
import { createUpcasterRegistry } from '../../src/projections/upcast.ts';
import { createPgTestDb, type TestDb } from '../harness/db.ts';
import { dumpOrders, recorded, sampleHistory, type StreamEvent } from '../unit/projection-modules.events.ts';

// The projections' SQL on real PostgreSQL 15, over events that went through the real store.
let testDb: TestDb;
let store: EventStore;
beforeAll(async () => {
  testDb = await createPgTestDb('projmod');
  store = await openEventStore({ url: testDb.url, migrate: true });
});
afterAll(async () => {
  await store?.close();
  await testDb?.drop();
});

const module = createOrdersProjection();
const { upcast } = createUpcasterRegistry(orderUpcasters);
let n = 0;
async function freshTables() {
  n++;
  const t = { orders: `rm${n}_orders`, order_items: `rm${n}_order_items`, order_tombstones: `rm${n}_order_tombstones` };
  await store.db.exec(module.ddl(t));
  return t;
}

/** Appends one event at a time (so the log keeps the list's order) and reads the whole log back. */
async function appendAndReadAll(list: readonly StreamEvent[]): Promise<RecordedEvent[]> {
  const before = await store.headPosition();
  for (const s of list) await store.append(s.streamId, [s.event]);
  const { events } = await store.readAll({ after: START, limit: 100_000 });
  return events.filter((e) => e.position > before);
}

const rename = (list: StreamEvent[], suffix: string): StreamEvent[] =>
  list.map((s) => {
    const data = s.event.data as Record<string, unknown>;
    return {
      streamId: `${s.streamId}${suffix}`,
      event: {
        ...s.event,
        id: randomUUID(),
        data: s.event.type === 'OrderCreated' ? { ...data, id: `${String(data.id)}${suffix}` } : data,
      },
    };
  });

describe('orders projection on PostgreSQL 15', () => {
  it('projects events read back from the store; a second apply of the batch changes nothing', async () => {
    const events = await appendAndReadAll(rename(sampleHistory(), '_s'));
    const t = await freshTables();
    await store.db.transaction((tx) => module.apply(tx, events.map(upcast), t));
    const once = await dumpOrders(store.db, t);
    expect(once.orders.map(({ updated_at: _u, last_version: _v, ...o }) => o)).toEqual([
      { id: 'ord_a_s', customer_id: 'cust-1', status: 'PAID', total_amount: '20.48', created_at: '2026-01-05 09:00:00.000001' },
      { id: 'ord_b_s', customer_id: 'cust-22', status: 'CANCELLED', total_amount: '187.50', created_at: '2026-01-05 09:00:01.00001' },
    ]);
    expect(once.items).toHaveLength(5);
    expect(once.tombstones).toEqual([{ key: 'ord_c_s', last_version: '2' }]);
    // updated_at: the recordedAt of the order's last event (legacy's own stamp is in no event).
    const { rows } = await store.db.query<{ ok: boolean }>(
      `SELECT bool_and(o.updated_at = (SELECT max(recorded_at) AT TIME ZONE 'UTC' FROM strangler_events e WHERE e.stream_id = 'orders-' || o.id)) AS ok FROM ${t.orders} o`,
    );
    expect(rows[0]?.ok).toBe(true);

    await store.db.transaction((tx) => module.apply(tx, events.map(upcast), t));
    expect(await dumpOrders(store.db, t)).toEqual(once);
  });

  it('a log holding v1 and v2 shapes of OrderItemAdded projects the same read model as v2 alone', async () => {
    const mixed = recorded(sampleHistory((i) => (i % 2 === 0 ? 1 : 2)));
    const v2only = recorded(sampleHistory(() => 2));
    const a = await freshTables();
    const b = await freshTables();
    await store.db.transaction((tx) => module.apply(tx, mixed.map(upcast), a));
    await store.db.transaction((tx) => module.apply(tx, v2only.map(upcast), b));
    const fromMixed = await dumpOrders(store.db, a);
    expect(fromMixed.orders).toHaveLength(2);
    expect(await dumpOrders(store.db, b)).toEqual(fromMixed);
  });

  it('batch boundaries do not matter: event by event equals one batch', async () => {
    const events = recorded(sampleHistory());
    const whole = await freshTables();
    const single = await freshTables();
    await store.db.transaction((tx) => module.apply(tx, events.map(upcast), whole));
    for (const e of events) await store.db.transaction((tx) => module.apply(tx, [upcast(e)], single));
    expect(await dumpOrders(store.db, single)).toEqual(await dumpOrders(store.db, whole));
  });

  it('the sample config module (examples/legacy-orders/projections/orders.ts) loads and projects', async () => {
    const entities = entitiesSchema.parse({
      orders: {
        projection: path.resolve(import.meta.dirname, '../../examples/legacy-orders/projections/orders.ts'),
        commands: [{ route: 'POST /orders', event: 'OrderCreated', id: '$.id', capture: 'response' }],
      },
    });
    const [loaded] = await loadProjections(entities);
    const t = { orders: 'cfg_orders', order_items: 'cfg_order_items', order_tombstones: 'cfg_order_tombstones' };
    await store.db.exec(loaded!.module.ddl(t));
    await store.db.transaction((tx) =>
      loaded!.module.apply(
        tx,
        recorded(sampleHistory()).map((e) => loaded!.upcasters.upcast(e)),
        t,
      ),
    );
    expect((await dumpOrders(store.db, t)).orders.map((o) => [o.id, o.total_amount])).toEqual([
      ['ord_a', '20.48'],
      ['ord_b', '187.50'],
    ]);
  });
});

describe('row projection on PostgreSQL 15', () => {
  const config = entitiesSchema.parse({
    customers: {
      commands: [
        { route: 'POST /customers', event: 'CustomerRegistered', id: '$.id', capture: 'response' },
        { route: 'PATCH /customers/:id', event: 'CustomerUpdated' },
        { route: 'DELETE /customers/:id', event: 'CustomerDeleted' },
      ],
      reconcile: { columns: ['id', 'name', 'credit_limit'] },
    },
  }).customers!;
  const row = createRowProjection({
    entity: 'customers',
    config,
    columns: [
      { column: 'name', fields: ['name'] },
      { column: 'credit_limit', fields: ['creditLimit'], type: 'numeric(12,2)' },
    ],
  });
  const ev = (id: string, type: string, data: unknown): StreamEvent => ({
    streamId: `customers-${id}`,
    event: { id: randomUUID(), type, data, metadata: { schemaVersion: 1 } },
  });

  it('inserts, merges and deletes from events read back from the store, idempotently', async () => {
    const events = await appendAndReadAll([
      ev('k1', 'CustomerRegistered', { id: 'k1', name: 'Ada', creditLimit: '10.00' }),
      ev('k2', 'CustomerRegistered', { id: 'k2', name: 'Bob', creditLimit: '1.00' }),
      ev('k1', 'CustomerUpdated', { creditLimit: '12.34' }),
      ev('k2', 'CustomerDeleted', {}),
    ]);
    const t = { customers: 'customers', customers__strangler_rows: 'customers__strangler_rows' };
    await store.db.exec(row.ddl(t));
    const dump = async () => ({
      rows: (await store.db.query('SELECT id, name, credit_limit::text AS credit_limit FROM customers ORDER BY id')).rows,
      state: (await store.db.query('SELECT key, version::text AS v, deleted FROM customers__strangler_rows ORDER BY key')).rows,
    });
    await store.db.transaction((tx) => row.apply(tx, events, t));
    const once = await dump();
    expect(once).toEqual({
      rows: [{ id: 'k1', name: 'Ada', credit_limit: '12.34' }],
      state: [
        { key: 'k1', v: '2', deleted: false },
        { key: 'k2', v: '2', deleted: true },
      ],
    });
    await store.db.transaction((tx) => row.apply(tx, events, t));
    expect(await dump()).toEqual(once);
  });
});
