/**
 * Orders events shaped exactly as the capture writes them for the sample spec
 * (examples/legacy-orders/strangler.yaml), for the projection tests and bench/projection.
 * OrderCreated carries the legacy POST /orders answer; OrderItemAdded the request body
 * (v1, `price`) or the v2 shape (`unitPrice`, metadata.schemaVersion 2).
 */
import { randomUUID } from 'node:crypto';
import type { Executor } from '../../src/db/executor.ts';
import type { NewEvent, RecordedEvent } from '../../src/eventstore/types.ts';

export interface Item {
  sku: string;
  quantity: number;
  /** As a client may send it: "9.99" or 9.99. */
  price: string | number;
}

export interface StreamEvent {
  streamId: string;
  event: NewEvent & { id: string; metadata: Record<string, unknown> };
}

const cents = (p: string | number): bigint => {
  const [whole, frac = ''] = String(p).split('.');
  return BigInt(whole ?? '0') * 100n + BigInt(frac.padEnd(2, '0'));
};
const money = (c: bigint) => `${c / 100n}.${String(c % 100n).padStart(2, '0')}`;
const moneyText = (p: string | number) => money(cents(p));

function meta(route: string, id: string | undefined, schemaVersion = 1): Record<string, unknown> {
  const requestId = randomUUID();
  return {
    schemaVersion,
    requestId,
    correlationId: requestId,
    route,
    method: route.split(' ')[0],
    params: id === undefined ? {} : { id },
    status: 200,
    capture: 'request',
  };
}

const ev = (id: string, type: string, data: unknown, metadata: Record<string, unknown>): StreamEvent => ({
  streamId: `orders-${id}`,
  event: { id: randomUUID(), type, data, metadata },
});

export const orderEvents = {
  created(id: string, o: { customerId: string; items: Item[]; at: string }): StreamEvent {
    const total = o.items.reduce((sum, i) => sum + cents(i.price) * BigInt(i.quantity), 0n);
    const body = {
      id,
      customerId: o.customerId,
      status: 'CREATED',
      totalAmount: money(total),
      items: o.items.map((i) => ({ sku: i.sku, quantity: i.quantity, price: moneyText(i.price) })),
      createdAt: o.at,
      updatedAt: o.at,
    };
    return ev(id, 'OrderCreated', body, { ...meta('POST /orders', undefined), status: 201, capture: 'response' });
  },
  /** v1: the request body as sent; v2: `unitPrice` as decimal text. */
  itemAdded(id: string, item: Item, version: 1 | 2 = 1): StreamEvent {
    const data =
      version === 1
        ? { sku: item.sku, quantity: item.quantity, price: item.price }
        : { sku: item.sku, quantity: item.quantity, unitPrice: String(item.price) };
    return ev(id, 'OrderItemAdded', data, { ...meta('POST /orders/:id/items', id, version), status: 201 });
  },
  paid: (id: string) => ev(id, 'OrderPaid', {}, meta('POST /orders/:id/pay', id)),
  cancelled: (id: string) => ev(id, 'OrderCancelled', {}, meta('POST /orders/:id/cancel', id)),
  updated: (id: string, patch: { customerId?: string; status?: string }) => ev(id, 'OrderUpdated', patch, meta('PATCH /orders/:id', id)),
  deleted: (id: string) => ev(id, 'OrderDeleted', {}, meta('DELETE /orders/:id', id)),
};

/**
 * Stream events → recorded events as the store would hand them back: global positions in
 * list order, per-stream versions from 1, recordedAt one millisecond apart from `start`.
 */
export function recorded(list: readonly StreamEvent[], start = Date.parse('2026-01-05T10:00:00.000Z')): RecordedEvent[] {
  const versions = new Map<string, number>();
  return list.map(({ streamId, event }, i) => {
    const version = (versions.get(streamId) ?? 0) + 1;
    versions.set(streamId, version);
    return {
      position: i + 1,
      streamId,
      version,
      id: event.id,
      type: event.type,
      // Through JSON, as the store hands it back (jsonb → text → JSON.parse).
      data: JSON.parse(JSON.stringify(event.data)) as unknown,
      metadata: JSON.parse(JSON.stringify(event.metadata)) as Record<string, unknown>,
      recordedAt: `${new Date(start + i).toISOString().slice(0, 23)}417Z`,
      transactionId: String(1000 + i),
    };
  });
}

/** Everything the orders projection wrote, in a stable order, as text: for equality checks. */
export async function dumpOrders(
  db: Executor,
  t: { orders: string; order_items: string; order_tombstones: string },
): Promise<{ orders: Record<string, unknown>[]; items: Record<string, unknown>[]; tombstones: Record<string, unknown>[] }> {
  const q = async (sql: string) => (await db.query<Record<string, unknown>>(sql)).rows;
  return {
    orders: await q(
      `SELECT id, customer_id, status, total_amount::text AS total_amount, created_at::text AS created_at, updated_at::text AS updated_at, last_version::text AS last_version FROM ${t.orders} ORDER BY id`,
    ),
    items: await q(`SELECT order_id, sku, quantity, price::text AS price FROM ${t.order_items} ORDER BY order_id, sku`),
    tombstones: await q(`SELECT key, last_version::text AS last_version FROM ${t.order_tombstones} ORDER BY key`),
  };
}

/**
 * A small history touching every event type and the money edge cases: 0.10 × 3 + 0.20
 * must be exactly 0.50, a JSON-number price, an update, a cancel after pay, a delete.
 */
export function sampleHistory(itemVersion: (i: number) => 1 | 2 = () => 1): StreamEvent[] {
  let n = 0;
  const add = (id: string, item: Item) => orderEvents.itemAdded(id, item, itemVersion(n++));
  return [
    orderEvents.created('ord_a', {
      customerId: 'cust-1',
      items: [{ sku: 'SKU-1', quantity: 2, price: '9.99' }],
      at: '2026-01-05T09:00:00.000001Z',
    }),
    orderEvents.created('ord_b', {
      customerId: 'cust-2',
      items: [{ sku: 'SKU-9', quantity: 1, price: '100.00' }],
      at: '2026-01-05T09:00:01.000010Z',
    }),
    add('ord_a', { sku: 'SKU-2', quantity: 3, price: 0.1 }),
    add('ord_a', { sku: 'SKU-3', quantity: 1, price: '0.20' }),
    orderEvents.created('ord_c', {
      customerId: 'cust-3',
      items: [{ sku: 'SKU-1', quantity: 1, price: '1.00' }],
      at: '2026-01-05T09:00:02.5Z',
    }),
    orderEvents.paid('ord_a'),
    orderEvents.updated('ord_b', { customerId: 'cust-22' }),
    add('ord_b', { sku: 'SKU-4', quantity: 7, price: 12.5 }),
    orderEvents.paid('ord_b'),
    orderEvents.cancelled('ord_b'),
    orderEvents.deleted('ord_c'),
  ];
}
