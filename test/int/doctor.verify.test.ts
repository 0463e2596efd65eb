import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main, type CliIo } from '../../src/cli/main.ts';
import { verifyStream } from '../../src/doctor/index.ts';
import { openEventStore, type EventStore, type NewEvent } from '../../src/eventstore/index.ts';
import { orderFold, ordersProjection, orderUpcasters } from '../../examples/legacy-orders/projections/orders/index.ts';
import { createUpcasterRegistry } from '../../src/projections/upcast.ts';
import { createPgTestDb, type TestDb } from '../harness/db.ts';

const SPEC = path.resolve(import.meta.dirname, '../../examples/legacy-orders/strangler.yaml');
/** The sample's orders entity as the doctor finds it in the sample's config. */
const opts = { targets: [{ entity: 'orders', stream: 'orders-{id}', projection: 'orders', fold: orderFold }], snapshotInterval: 100 };

let testDb: TestDb;
let store: EventStore;
const tables = { orders: 'orders', order_items: 'order_items', order_tombstones: 'order_tombstones' };

beforeAll(async () => {
  testDb = await createPgTestDb('verify');
  store = await openEventStore({ url: testDb.url, migrate: true });
  await store.db.exec(ordersProjection.ddl(tables));
});
afterAll(async () => {
  await store?.close();
  await testDb?.drop();
});

/** Projects the whole log with the real orders projection (upcast first, as the runner does). */
async function project(): Promise<void> {
  const upcasters = createUpcasterRegistry(orderUpcasters);
  const events = (await store.readAll({ after: { transactionId: '0', position: 0 }, limit: 100_000 })).events.map((e) =>
    upcasters.upcast(e),
  );
  await store.db.transaction((tx) => ordersProjection.apply(tx, events, tables));
}

const created = (id: string, items: { sku: string; quantity: number; price: string }[], total: string): NewEvent => ({
  type: 'OrderCreated',
  data: {
    id,
    customerId: 'cust-1',
    status: 'CREATED',
    totalAmount: total,
    items,
    createdAt: '2024-03-02T01:01:07.000010Z',
    updatedAt: '2024-03-02T01:01:07.000010Z',
  },
});

async function cli(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (l) => out.push(l), err: (l) => err.push(l), env: {} };
  const code = await main(['doctor', 'verify', ...args, '--url', testDb.url, '--config', SPEC], io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('strangler doctor verify STREAM (PostgreSQL 15, the sample orders projection from examples/ and its fold)', () => {
  it('a stream and its projected rows agree: exit 0', async () => {
    await store.append('orders-ord_a', [created('ord_a', [{ sku: 'A', quantity: 2, price: '0.10' }], '0.20')]);
    await store.append('orders-ord_a', [
      { type: 'OrderItemAdded', data: { sku: 'B', quantity: 1, price: 0.1 } },
      { type: 'OrderPaid', data: {} },
    ]);
    await project();
    const r = await verifyStream(store, store.db, 'orders-ord_a', opts);
    expect(r.differences).toEqual([]);
    expect(r).toMatchObject({ equal: true, version: 3, entity: 'orders', id: 'ord_a' });
    const c = await cli('orders-ord_a');
    expect(c.code).toBe(0);
    expect(c.out).toContain('equal');
  });

  it('a read-model row that differs from its stream: each field printed with both values, exit 1', async () => {
    await store.append('orders-ord_b', [created('ord_b', [{ sku: 'A', quantity: 1, price: '9.99' }], '9.99')]);
    await store.append('orders-ord_b', [{ type: 'OrderItemAdded', data: { sku: 'B', quantity: 3, price: '1.50' } }]);
    await project();
    // Drift planted in the read model: a status nobody sent, a price changed by hand, a lost item.
    await store.db.query(`UPDATE orders SET status = 'PAID', total_amount = 14.5 WHERE id = 'ord_b'`);
    await store.db.query(`UPDATE order_items SET price = 9.98 WHERE order_id = 'ord_b' AND sku = 'A'`);
    await store.db.query(`DELETE FROM order_items WHERE order_id = 'ord_b' AND sku = 'B'`);
    const r = await verifyStream(store, store.db, 'orders-ord_b', opts);
    expect(r.equal).toBe(false);
    expect(r.differences).toEqual([
      { field: 'orders.status', expected: 'CREATED', actual: 'PAID' },
      { field: 'orders.total_amount', expected: '14.49', actual: '14.50' },
      { field: 'order_items[sku=A].price', expected: '9.99', actual: '9.98' },
      { field: 'order_items[sku=B]', expected: 'quantity 3, price 1.50', actual: '(no row)' },
    ]);
    const c = await cli('orders-ord_b');
    expect(c.code).toBe(1);
    expect(c.out).toMatch(/orders\.status\s+stream: CREATED\s+read model: PAID/);
    expect(c.out).toMatch(/order_items\[sku=A\]\.price\s+stream: 9\.99\s+read model: 9\.98/);
    const json = await cli('orders-ord_b', '--json');
    expect(JSON.parse(json.out)).toMatchObject({
      equal: false,
      differences: expect.arrayContaining([{ field: 'orders.status', expected: 'CREATED', actual: 'PAID' }]),
    });
  });

  it('an order the stream deleted but the read model still holds is a difference', async () => {
    await store.append('orders-ord_c', [created('ord_c', [], '0.00')]);
    await project();
    await store.append('orders-ord_c', [{ type: 'OrderDeleted', data: {} }]);
    const r = await verifyStream(store, store.db, 'orders-ord_c', opts);
    expect(r.differences).toEqual([{ field: 'orders', expected: '(no row: the stream deleted the order)', actual: 'row ord_c' }]);
    await project();
    expect((await verifyStream(store, store.db, 'orders-ord_c', opts)).equal).toBe(true);
  });

  it('a long stream is verified from its snapshot', async () => {
    const items = Array.from({ length: 149 }, (_, i): NewEvent => ({
      type: 'OrderItemAdded',
      data: { sku: `S${String(i).padStart(3, '0')}`, quantity: 1, price: '0.01' },
    }));
    await store.append('orders-ord_d', [created('ord_d', [], '0.00'), ...items]);
    await project();
    expect((await verifyStream(store, store.db, 'orders-ord_d', opts)).replay).toMatchObject({
      eventsRead: 150,
      snapshotSaved: 150,
    });
    const again = await verifyStream(store, store.db, 'orders-ord_d', opts);
    expect(again).toMatchObject({ equal: true, replay: { snapshotVersion: 150, eventsRead: 1, eventsReplayed: 0 } });
  });

  it('exit 2 for a stream of no known entity or without events', async () => {
    expect((await cli('carts-1')).code).toBe(2);
    const none = await cli('orders-ord_missing');
    expect(none.code).toBe(2);
    expect(none.err).toContain('has no events');
  });
});
