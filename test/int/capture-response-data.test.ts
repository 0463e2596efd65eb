/**
 * `responseData` on real servers: the sample spec's commands that change an order (PATCH,
 * add item, pay, cancel) carry legacy's own `updatedAt` (the answer's, which is the row's
 * updated_at) into their events, next to what they capture from the request. On MariaDB and
 * PostgreSQL legacy, through a sidecar appending to a PostgreSQL event store.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Executor } from '../../src/db/executor.ts';
import { createMysqlExecutor } from '../../src/db/mysqlExecutor.ts';
import { createPgExecutor } from '../../src/db/pgExecutor.ts';
import { openEventStore, type EventStore } from '../../src/eventstore/index.ts';
import { isoFromDb } from '../../examples/legacy-orders/time.ts';
import { migrate, startLegacyOrders, type RunningLegacyOrders } from '../../examples/legacy-orders/index.ts';
import { createMysqlTestDb, createPgTestDb, type TestDb } from '../harness/db.ts';
import { startTestSidecar } from '../helpers/sidecar.ts';

const backends = [
  { name: 'MariaDB', createDb: () => createMysqlTestDb('respdata_legacy'), open: (url: string) => createMysqlExecutor({ url }) },
  { name: 'PostgreSQL', createDb: () => createPgTestDb('respdata_legacy'), open: (url: string) => createPgExecutor({ url }) },
] as const;

for (const backend of backends) {
  describe(`responseData: events carry legacy's updatedAt (${backend.name} legacy)`, () => {
    let legacyDb: TestDb;
    let storeDb: TestDb;
    let db: Executor;
    let store: EventStore;
    let service: RunningLegacyOrders;
    let sidecar: Awaited<ReturnType<typeof startTestSidecar>>;

    beforeAll(async () => {
      legacyDb = await backend.createDb();
      storeDb = await createPgTestDb('respdata_store');
      db = backend.open(legacyDb.url);
      await migrate(db);
      service = await startLegacyOrders({ db });
      store = await openEventStore({ url: storeDb.url, migrate: true });
      sidecar = await startTestSidecar({
        upstream: service.url,
        store,
        configure: (c) => {
          c.eventStore.appendTimeoutMs = 10_000; // the event is in the store when the client has its answer
        },
      });
    }, 60_000);

    afterAll(async () => {
      await sidecar?.stop();
      await store?.close();
      await service?.close();
      await db?.close();
      await storeDb?.drop();
      await legacyDb?.drop();
    });

    const send = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${sidecar.publicUrl}${path}`, {
        method,
        ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      });
      expect(res.status, `${method} ${path}`).toBeLessThan(300);
      return (await res.json()) as Record<string, unknown>;
    };
    const rowUpdatedAt = async (id: string) => {
      const ph = db.dialect === 'mysql' ? '?' : '$1';
      const cast = db.dialect === 'mysql' ? "DATE_FORMAT(updated_at, '%Y-%m-%d %H:%i:%s.%f')" : 'updated_at::text';
      const { rows } = await db.query<{ u: string }>(`SELECT ${cast} AS u FROM orders WHERE id = ${ph}`, [id]);
      return isoFromDb(rows[0]!.u);
    };

    it('PATCH, add item, pay: each event has the updatedAt legacy answered (its row), beside the captured fields', async () => {
      const created = await send('POST', '/orders', { customerId: 'cust-1', items: [{ sku: 'A-1', quantity: 1, price: '2.50' }] });
      const id = String(created.id);
      const answers = [
        await send('PATCH', `/orders/${id}`, { customerId: 'cust-2' }),
        await send('POST', `/orders/${id}/items`, { sku: 'B-2', quantity: 2, price: '1.25' }),
        // A client's own updatedAt in the body never stands in for legacy's.
        await send('POST', `/orders/${id}/pay`, { updatedAt: '1999-01-01T00:00:00.000000Z' }),
      ];
      const events = await store.readStream(`orders-${id}`);
      expect(events.map((e) => e.type)).toEqual(['OrderCreated', 'OrderUpdated', 'OrderItemAdded', 'OrderPaid']);
      expect(events[0]!.data).toMatchObject({ createdAt: created.createdAt, updatedAt: created.updatedAt });
      expect(events[1]!.data).toEqual({ customerId: 'cust-2', updatedAt: answers[0]!.updatedAt });
      expect(events[2]!.data).toEqual({ sku: 'B-2', quantity: 2, price: '1.25', updatedAt: answers[1]!.updatedAt });
      expect(events[3]!.data).toEqual({ updatedAt: answers[2]!.updatedAt });
      // Legacy's clock moved on each command, and the last stamp is the row's.
      const stamps = answers.map((a) => String(a.updatedAt));
      expect(new Set([String(created.updatedAt), ...stamps]).size).toBe(4);
      expect(await rowUpdatedAt(id)).toBe(stamps.at(-1));
    });

    it('cancel carries it too; DELETE (204, no body) has no updatedAt and still records its event', async () => {
      const created = await send('POST', '/orders', { customerId: 'cust-3', items: [{ sku: 'C-3', quantity: 1, price: '9.99' }] });
      const id = String(created.id);
      const cancelled = await send('POST', `/orders/${id}/cancel`);
      const res = await fetch(`${sidecar.publicUrl}/orders/${id}`, { method: 'DELETE' });
      expect(res.status).toBe(204);
      const events = await store.readStream(`orders-${id}`);
      expect(events.map((e) => [e.type, e.data])).toEqual([
        ['OrderCreated', expect.objectContaining({ id })],
        ['OrderCancelled', { updatedAt: cancelled.updatedAt }],
        ['OrderDeleted', {}],
      ]);
    });
  });
}
