import {
  normalizeTimestamp,
  ROW_REMOVED,
  ROW_REPAIRED,
  StranglerError,
  type Aggregate,
  type ExpectedRows,
  type ProjectionFold,
  type RecordedEvent,
} from 'strangler-sidecar/projections';
import { formatCents, parseCents } from './cents.ts';

export interface OrderItemState {
  sku: string;
  quantity: number;
  priceCents: bigint;
}

/**
 * An order as its stream says it is: the same facts as the legacy `orders` row and its
 * `order_items`, money in bigint cents, times as ISO UTC text with microseconds.
 */
export interface OrderState {
  /** False until OrderCreated: a stream without it has no order. */
  exists: boolean;
  deleted: boolean;
  id: string | null;
  customerId: string | null;
  status: string | null;
  totalCents: bigint;
  /** In the order they were added; compared by sku. */
  items: OrderItemState[];
  createdAt: string | null;
  updatedAt: string | null;
  /** Stream version folded so far. */
  version: number;
}

const initial = (): OrderState => ({
  exists: false,
  deleted: false,
  id: null,
  customerId: null,
  status: null,
  totalCents: 0n,
  items: [],
  createdAt: null,
  updatedAt: null,
  version: 0,
});

function bad(event: RecordedEvent, what: string): never {
  throw new StranglerError('bad_event', `${event.type} at ${event.streamId}@${event.version} (position ${event.position}): ${what}`, {
    status: 422,
    details: { eventId: event.id, position: event.position },
  });
}

const obj = (event: RecordedEvent): Record<string, unknown> =>
  event.data !== null && typeof event.data === 'object' && !Array.isArray(event.data)
    ? (event.data as Record<string, unknown>)
    : bad(event, 'data is not a JSON object');

function item(event: RecordedEvent, raw: unknown): OrderItemState {
  if (raw === null || typeof raw !== 'object') bad(event, 'an item is not a JSON object');
  const r = raw as Record<string, unknown>;
  const quantity = typeof r.quantity === 'string' && /^\d+$/.test(r.quantity) ? Number(r.quantity) : r.quantity;
  if (typeof r.sku !== 'string' || typeof quantity !== 'number' || !Number.isSafeInteger(quantity))
    bad(event, 'an item needs sku (text) and quantity (integer)');
  // v1 (the request body) says `price`, v2 (see ./upcasters.ts) `unitPrice`.
  const price = r.unitPrice ?? r.price;
  const priceCents = parseCents(price);
  if (priceCents === undefined) bad(event, `item ${r.sku} has price ${JSON.stringify(price)}, expected a decimal like "9.99"`);
  return { sku: r.sku, quantity, priceCents };
}

/**
 * The orders fold: the same rules as the orders projection (./ordersProjection.ts),
 * written independently as a pure fold so verify can catch the projection drifting.
 * - OrderCreated takes legacy's answer as is (total, status, times, items);
 * - OrderItemAdded adds quantity × price in bigint cents to the total (legacy recomputes
 *   the sum of all lines, which is the same number as long as the created total was the
 *   sum of its lines — legacy computes it so);
 * - status changes are taken as recorded (legacy refused invalid transitions before any
 *   event was written);
 * - events before an OrderCreated (an order older than dual-write) or after OrderDeleted
 *   change nothing but the version: the projection cannot apply them either.
 *
 * updated_at: legacy's stamp as its answer gave it: OrderCreated's updatedAt, and later
 * events' `updatedAt` (the sample spec's `responseData: ["$.updatedAt"]`). An event without
 * one (captured before the spec asked for it) stands for its recordedAt, written within the
 * same request right after legacy's commit. The orders projection uses the same rule; were
 * they to part, verify would report updated_at on every changed order.
 */
function stampOf(event: RecordedEvent): string {
  const d = event.data;
  const given = d !== null && typeof d === 'object' && !Array.isArray(d) ? (d as Record<string, unknown>).updatedAt : undefined;
  return normalizeTimestamp(given) ?? event.recordedAt;
}

function apply(s: OrderState, event: RecordedEvent): OrderState {
  const touched = { version: event.version, updatedAt: stampOf(event) };
  switch (event.type) {
    case 'OrderCreated': {
      const d = obj(event);
      const totalCents = parseCents(d.totalAmount);
      if (typeof d.id !== 'string' || typeof d.customerId !== 'string' || typeof d.status !== 'string')
        bad(event, 'needs id, customerId and status');
      if (totalCents === undefined) bad(event, `totalAmount ${JSON.stringify(d.totalAmount)} is not a decimal like "12.34"`);
      const createdAt = normalizeTimestamp(d.createdAt) ?? event.recordedAt;
      return {
        exists: true,
        deleted: false,
        id: d.id,
        customerId: d.customerId,
        status: d.status,
        totalCents,
        items: Array.isArray(d.items) ? d.items.map((i) => item(event, i)) : [],
        createdAt,
        updatedAt: normalizeTimestamp(d.updatedAt) ?? createdAt,
        version: event.version,
      };
    }
    case 'OrderItemAdded': {
      if (!s.exists || s.deleted) return { ...s, version: event.version };
      const added = item(event, obj(event));
      const items = [...s.items.filter((i) => i.sku !== added.sku), added];
      return { ...s, ...touched, items, totalCents: s.totalCents + BigInt(added.quantity) * added.priceCents };
    }
    case ROW_REPAIRED: {
      // Reconciliation's corrective event: the legacy row's after-image (read-model column
      // names). It sets every field, with the times it carries; the items stay as they are.
      const d = obj(event);
      const totalCents = parseCents(d.total_amount);
      if (typeof d.customer_id !== 'string' || typeof d.status !== 'string') bad(event, 'needs customer_id and status');
      if (totalCents === undefined) bad(event, `total_amount ${JSON.stringify(d.total_amount)} is not a decimal like "12.34"`);
      const live = s.exists && !s.deleted;
      const createdAt = normalizeTimestamp(d.created_at) ?? event.recordedAt;
      return {
        ...s,
        exists: true,
        deleted: false,
        id: live ? s.id : typeof d.id === 'string' ? d.id : s.id,
        customerId: d.customer_id,
        status: d.status,
        totalCents,
        items: live ? s.items : [],
        createdAt,
        updatedAt: normalizeTimestamp(d.updated_at) ?? createdAt,
        version: event.version,
      };
    }
    case 'OrderPaid':
    case 'OrderCancelled':
    case 'OrderUpdated':
    case 'OrderDeleted':
    case ROW_REMOVED:
      if (!s.exists || s.deleted) return { ...s, version: event.version };
      return applyChange(s, event, touched);
    default:
      // Event types this fold does not know change nothing (they are not part of the order).
      return { ...s, version: event.version };
  }
}

function applyChange(s: OrderState, event: RecordedEvent, touched: { version: number; updatedAt: string }): OrderState {
  switch (event.type) {
    case 'OrderPaid':
      return { ...s, ...touched, status: 'PAID' };
    case 'OrderCancelled':
      return { ...s, ...touched, status: 'CANCELLED' };
    case 'OrderUpdated': {
      const d = obj(event);
      return {
        ...s,
        ...touched,
        ...(typeof d.customerId === 'string' ? { customerId: d.customerId } : {}),
        ...(typeof d.status === 'string' ? { status: d.status } : {}),
      };
    }
    case 'OrderDeleted':
    case ROW_REMOVED:
      return { ...s, ...touched, deleted: true, items: [], totalCents: 0n };
    default:
      return { ...s, version: event.version };
  }
}

type Json = Omit<OrderState, 'totalCents' | 'items'> & {
  totalCents: string;
  items: { sku: string; quantity: number; priceCents: string }[];
};

function deserialize(json: unknown): OrderState {
  const j = json as Json;
  if (!j || typeof j !== 'object' || typeof j.totalCents !== 'string' || !Array.isArray(j.items) || typeof j.version !== 'number') {
    throw new Error('not an order snapshot of fold version 1');
  }
  return {
    exists: j.exists,
    deleted: j.deleted,
    id: j.id,
    customerId: j.customerId,
    status: j.status,
    totalCents: BigInt(j.totalCents),
    items: j.items.map((i) => ({ sku: i.sku, quantity: i.quantity, priceCents: BigInt(i.priceCents) })),
    createdAt: j.createdAt,
    updatedAt: j.updatedAt,
    version: j.version,
  };
}

export const orderAggregate: Aggregate<OrderState> = {
  kind: 'order',
  version: 1,
  initial,
  apply,
  serialize: (s): Json => ({
    ...s,
    totalCents: s.totalCents.toString(),
    items: s.items.map((i) => ({ sku: i.sku, quantity: i.quantity, priceCents: i.priceCents.toString() })),
  }),
  deserialize,
};

/** The read-model rows the state stands for, in the projection's column names; null when there is no order. */
export interface OrderRows {
  order: { id: string; customer_id: string; status: string; total_amount: string; created_at: string; updated_at: string };
  /** Sorted by sku. */
  items: { sku: string; quantity: string; price: string }[];
}

/**
 * What `strangler doctor verify orders-ID` compares: the orders row and its items (by sku)
 * the stream stands for, against the projected ones.
 */
export const orderFold: ProjectionFold<OrderState> = {
  ...orderAggregate,
  rows(s, { id }): ExpectedRows {
    const rows = orderRows(s);
    const absent = s.deleted ? 'the stream deleted the order' : 'the stream has no OrderCreated';
    const orderId = s.id ?? id;
    return {
      orders: { where: { id: orderId }, rows: rows ? [rows.order] : [], absent },
      order_items: { where: { order_id: orderId }, key: ['sku'], rows: rows?.items ?? [] },
    };
  },
};

export function orderRows(s: OrderState): OrderRows | null {
  if (!s.exists || s.deleted) return null;
  return {
    order: {
      id: s.id ?? '',
      customer_id: s.customerId ?? '',
      status: s.status ?? '',
      total_amount: formatCents(s.totalCents),
      created_at: s.createdAt ?? '',
      updated_at: s.updatedAt ?? '',
    },
    items: [...s.items]
      .sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0))
      .map((i) => ({ sku: i.sku, quantity: String(i.quantity), price: formatCents(i.priceCents) })),
  };
}
