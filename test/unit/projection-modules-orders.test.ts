import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Executor } from '../../src/db/executor.ts';
import { createPgliteExecutor } from '../../src/db/pgliteExecutor.ts';
import type { RecordedEvent } from '../../src/eventstore/types.ts';
import { createOrdersProjection, orderUpcasters } from '../../examples/legacy-orders/projections/orders/index.ts';
import { createUpcasterRegistry } from '../../src/projections/upcast.ts';
import { dumpOrders, orderEvents, recorded, sampleHistory } from './projection-modules.events.ts';

type Tables = { orders: string; order_items: string; order_tombstones: string };
const module = createOrdersProjection();
const { upcast } = createUpcasterRegistry(orderUpcasters);

// One embedded database for the file (starting PGlite takes seconds); each read model gets
// physical tables of its own, the way the runner names a rebuild's tables.
let db: Executor;
beforeAll(async () => {
  db = await createPgliteExecutor({});
}, 60_000);
afterAll(() => db.close());

let n = 0;
async function freshTables(): Promise<Tables> {
  n++;
  const t = { orders: `rm${n}_orders`, order_items: `rm${n}_order_items`, order_tombstones: `rm${n}_order_tombstones` };
  await db.exec(module.ddl(t));
  return t;
}

const applyTo = (t: Tables, events: readonly RecordedEvent[]) => db.transaction((tx) => module.apply(tx, events.map(upcast), t));

describe('orders projection (embedded PGlite)', () => {
  it('projects a history into rows with the legacy columns, money exact', async () => {
    const t = await freshTables();
    await applyTo(t, recorded(sampleHistory()));
    const dump = await dumpOrders(db, t);
    expect(dump.orders).toEqual([
      // 2 × 9.99 + 3 × 0.1 + 1 × 0.20 (a float sum would not be 20.48)
      {
        id: 'ord_a',
        customer_id: 'cust-1',
        status: 'PAID',
        total_amount: '20.48',
        created_at: '2026-01-05 09:00:00.000001',
        updated_at: '2026-01-05 10:00:00.005417',
        last_version: '4',
      },
      // 100.00 + 7 × 12.5; updated, paid, then cancelled
      {
        id: 'ord_b',
        customer_id: 'cust-22',
        status: 'CANCELLED',
        total_amount: '187.50',
        created_at: '2026-01-05 09:00:01.00001',
        updated_at: '2026-01-05 10:00:00.009417',
        last_version: '5',
      },
    ]);
    expect(dump.items).toEqual([
      { order_id: 'ord_a', sku: 'SKU-1', quantity: 2, price: '9.99' },
      { order_id: 'ord_a', sku: 'SKU-2', quantity: 3, price: '0.10' },
      { order_id: 'ord_a', sku: 'SKU-3', quantity: 1, price: '0.20' },
      { order_id: 'ord_b', sku: 'SKU-4', quantity: 7, price: '12.50' },
      { order_id: 'ord_b', sku: 'SKU-9', quantity: 1, price: '100.00' },
    ]);
    expect(dump.tombstones).toEqual([{ key: 'ord_c', last_version: '2' }]);
  });

  it('applying the same batch twice changes nothing', async () => {
    const t = await freshTables();
    const events = recorded(sampleHistory());
    await applyTo(t, events);
    const once = await dumpOrders(db, t);
    await applyTo(t, events);
    expect(await dumpOrders(db, t)).toEqual(once);
  });

  it('re-applying any prefix or overlapping range changes nothing, and batch boundaries do not matter', async () => {
    const t = await freshTables();
    const events = recorded(sampleHistory());
    await applyTo(t, events);
    const whole = await dumpOrders(db, t);

    const other = await freshTables();
    for (let i = 0; i < events.length; i++) {
      // One event at a time, each batch overlapping the previous ones.
      await applyTo(other, events.slice(Math.max(0, i - 3), i + 1));
    }
    expect(await dumpOrders(db, other)).toEqual(whole);
  });

  it('a deleted order stays deleted when its create is replayed (tombstone)', async () => {
    const t = await freshTables();
    const events = recorded(sampleHistory());
    await applyTo(t, events);
    await applyTo(
      t,
      events.filter((e) => e.streamId === 'orders-ord_c'),
    );
    expect((await dumpOrders(db, t)).orders.map((o) => o.id)).toEqual(['ord_a', 'ord_b']);
  });

  it('a log holding v1 and v2 shapes of OrderItemAdded projects the same read model as v2 alone', async () => {
    const t = await freshTables();
    const mixed = recorded(sampleHistory((i) => (i % 2 === 0 ? 1 : 2)));
    const v2only = recorded(sampleHistory(() => 2));
    expect(mixed.filter((e) => e.type === 'OrderItemAdded').map((e) => e.metadata.schemaVersion)).toEqual([1, 2, 1]);
    await applyTo(t, mixed);
    const fromMixed = await dumpOrders(db, t);

    const other = await freshTables();
    await applyTo(other, v2only);
    expect(await dumpOrders(db, other)).toEqual(fromMixed);
    expect(fromMixed.orders).toHaveLength(2);
  });

  it("updated_at is legacy's updatedAt the last event carries (responseData), else that event's recordedAt", async () => {
    const t = await freshTables();
    const stamped = <T extends { event: { data: unknown } }>(e: T, updatedAt: unknown): T => ({
      ...e,
      event: { ...e.event, data: { ...(e.event.data as object), updatedAt } },
    });
    const created = (id: string) =>
      orderEvents.created(id, { customerId: 'c', items: [{ sku: 'A', quantity: 1, price: '1.00' }], at: '2026-01-05T09:00:00.000001Z' });
    const events = recorded([
      created('ord_p'),
      stamped(orderEvents.updated('ord_p', { customerId: 'd' }), '2026-01-05T09:30:00.123456Z'),
      stamped(orderEvents.itemAdded('ord_p', { sku: 'B', quantity: 2, price: 1.5 }), '2026-01-05T09:40:00.000010Z'),
      stamped(orderEvents.paid('ord_p'), '2026-01-05T09:45:00.654321Z'),
      created('ord_q'),
      stamped(orderEvents.cancelled('ord_q'), '2026-01-05T09:50:00.5Z'),
      created('ord_r'),
      stamped(orderEvents.paid('ord_r'), '2026-01-05T09:55:00.000001Z'),
      orderEvents.cancelled('ord_r'), // captured without responseData: its recordedAt
    ]);
    await applyTo(t, events);
    const updatedAt = Object.fromEntries((await dumpOrders(db, t)).orders.map((o) => [o.id, o.updated_at]));
    expect(updatedAt).toEqual({
      ord_p: '2026-01-05 09:45:00.654321',
      ord_q: '2026-01-05 09:50:00.5',
      ord_r: events[8]!.recordedAt.replace('T', ' ').replace('Z', ''),
    });

    // One event per batch lands on the same rows.
    const other = await freshTables();
    for (const e of events) await applyTo(other, [e]);
    expect(await dumpOrders(db, other)).toEqual(await dumpOrders(db, t));
  });

  it('refuses an updatedAt that is not an ISO time with a zone, naming the event', async () => {
    const t = await freshTables();
    const events = recorded([
      orderEvents.created('ord_x', { customerId: 'c', items: [{ sku: 'A', quantity: 1, price: '1.00' }], at: '2026-01-05T09:00:00Z' }),
      orderEvents.paid('ord_x'),
    ]);
    const broken = { ...events[1]!, data: { updatedAt: 'yesterday' } };
    await expect(applyTo(t, [events[0]!, broken])).rejects.toThrow(
      new RegExp(`OrderPaid ${broken.id}.*updatedAt must be an ISO 8601 time with a zone`),
    );
  });

  it('refuses a v1 OrderItemAdded that was not upcast, naming the event', async () => {
    const t = await freshTables();
    const events = recorded([
      orderEvents.created('ord_x', { customerId: 'c', items: [{ sku: 'A', quantity: 1, price: '1.00' }], at: '2026-01-05T09:00:00Z' }),
      orderEvents.itemAdded('ord_x', { sku: 'B', quantity: 1, price: '2.00' }),
    ]);
    await expect(db.transaction((tx) => module.apply(tx, events, t))).rejects.toThrow(
      new RegExp(`OrderItemAdded ${events[1]!.id}.*upcast it first`),
    );
  });

  it('refuses a malformed event instead of projecting a guess', async () => {
    const t = await freshTables();
    const [created] = recorded([
      orderEvents.created('ord_x', { customerId: 'c', items: [{ sku: 'A', quantity: 1, price: '1.00' }], at: '2026-01-05T09:00:00Z' }),
    ]);
    const broken = { ...created!, data: { ...(created!.data as object), totalAmount: 19.999 } };
    await expect(applyTo(t, [broken])).rejects.toThrow(/totalAmount must be an amount with at most 2 decimals/);
  });

  it('leaves out events of an order it has no row for (created before dual-write)', async () => {
    const t = await freshTables();
    const events = recorded([orderEvents.paid('ord_old'), orderEvents.itemAdded('ord_old', { sku: 'A', quantity: 1, price: '1.00' })]);
    await applyTo(t, events);
    expect(await dumpOrders(db, t)).toEqual({ orders: [], items: [], tombstones: [] });
  });

  it('ignores event types it does not handle and refuses streams outside orders-{id}', async () => {
    const t = await freshTables();
    const [paid] = recorded([orderEvents.paid('ord_a')]);
    await applyTo(t, [{ ...paid!, type: 'OrderShipped' }]);
    await expect(applyTo(t, [{ ...paid!, streamId: 'customers-1' }])).rejects.toThrow(/does not match the template "orders-\{id\}"/);
  });
});
