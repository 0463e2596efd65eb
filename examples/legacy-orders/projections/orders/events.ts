import { ROW_REMOVED, ROW_REPAIRED, StranglerError, type RecordedEvent } from 'strangler-sidecar/projections';

/**
 * The current (upcast) shapes of the orders events, as the capture of the sample spec
 * writes them (examples/legacy-orders/strangler.yaml):
 *
 * - OrderCreated   = the legacy POST /orders answer: { id, customerId, status, totalAmount,
 *                    items: [{ sku, quantity, price }], createdAt, updatedAt }
 * - OrderItemAdded = v2 { sku, quantity, unitPrice, updatedAt? } (v1, the request body
 *                    { sku, quantity, price }, is upcast by ./upcasters.ts)
 * - OrderUpdated   = { customerId?, status?, updatedAt? }   (PATCH body, `data: [customerId, status]`)
 * - OrderPaid, OrderCancelled = { updatedAt? };  OrderDeleted = {} (no body)
 *
 * `updatedAt` is legacy's own stamp, taken from its answer (`responseData: ["$.updatedAt"]`);
 * events captured before the spec asked for it have none (see updatedAtOf).
 *
 * A malformed event throws: the runner's failure strategy pauses on it with the event id
 * and this message, instead of projecting a guess.
 */
export const ORDER_EVENT_TYPES = [
  'OrderCreated',
  'OrderItemAdded',
  'OrderPaid',
  'OrderCancelled',
  'OrderUpdated',
  'OrderDeleted',
  ROW_REPAIRED,
  ROW_REMOVED,
] as const;
export type OrderEventType = (typeof ORDER_EVENT_TYPES)[number];

export interface OrderLine {
  sku: string;
  quantity: number;
  /** Decimal text with at most two decimals ("9.99"); summed as NUMERIC in SQL, never as a float. */
  price: string;
}

export interface OrderCreatedData {
  customerId: string;
  status: string;
  totalAmount: string;
  items: OrderLine[];
  createdAt: string;
  updatedAt: string;
}

const MONEY = /^\d{1,10}(\.\d{1,2})?$/;
// ISO 8601 with a zone (what the legacy JSON and recordedAt carry); cast through timestamptz.
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:?\d{2})$/;

function bad(event: RecordedEvent, what: string): never {
  throw new StranglerError('malformed_event', `${event.type} ${event.id} (stream ${event.streamId}, version ${event.version}): ${what}.`, {
    details: { eventId: event.id, position: event.position, type: event.type },
  });
}

/** "FIELD must be WHAT, got VALUE", or "FIELD is missing (expected WHAT)": never "got undefined". */
function wrong(field: string, what: string, value: unknown): string {
  return value === undefined ? `${field} is missing (expected ${what})` : `${field} must be ${what}, got ${JSON.stringify(value)}`;
}

function obj(event: RecordedEvent, value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) bad(event, `${where} is not an object`);
  return value as Record<string, unknown>;
}

function text(event: RecordedEvent, o: Record<string, unknown>, field: string): string {
  const v = o[field];
  if (typeof v !== 'string' || v === '') bad(event, wrong(field, 'a non-empty string', v));
  return v;
}

function optionalText(event: RecordedEvent, o: Record<string, unknown>, field: string): string | undefined {
  return o[field] === undefined || o[field] === null ? undefined : text(event, o, field);
}

/** Money as decimal text. A JSON number is printed by JS's shortest round-trip form, which for a two-decimal amount is its exact digits. */
export function money(event: RecordedEvent, o: Record<string, unknown>, field: string): string {
  const v = o[field];
  const t = typeof v === 'number' && Number.isFinite(v) ? String(v) : v;
  if (typeof t !== 'string' || !MONEY.test(t)) bad(event, wrong(field, 'an amount with at most 2 decimals like "9.99"', v));
  return t;
}

function instant(event: RecordedEvent, o: Record<string, unknown>, field: string): string {
  const v = o[field];
  if (typeof v !== 'string' || !INSTANT.test(v))
    bad(event, wrong(field, 'an ISO 8601 time with a zone like "2024-03-02T01:01:07.000010Z"', v));
  return v;
}

function quantity(event: RecordedEvent, o: Record<string, unknown>): number {
  const q = o.quantity;
  if (typeof q !== 'number' || !Number.isInteger(q) || q < 1) bad(event, wrong('quantity', 'a positive integer', q));
  return q;
}

export function parseCreated(event: RecordedEvent): OrderCreatedData {
  const d = obj(event, event.data, 'data');
  if (!Array.isArray(d.items)) bad(event, 'items must be an array');
  const items = d.items.map((raw, i) => {
    const item = obj(event, raw, `items[${i}]`);
    return { sku: text(event, item, 'sku'), quantity: quantity(event, item), price: money(event, item, 'price') };
  });
  return {
    customerId: text(event, d, 'customerId'),
    status: text(event, d, 'status'),
    totalAmount: money(event, d, 'totalAmount'),
    items,
    createdAt: instant(event, d, 'createdAt'),
    updatedAt: instant(event, d, 'updatedAt'),
  };
}

/** OrderItemAdded in its current shape (v2: unitPrice). A v1 shape here means the runner skipped upcasting. */
export function parseItemAdded(event: RecordedEvent): OrderLine {
  const d = obj(event, event.data, 'data');
  if (d.unitPrice === undefined && d.price !== undefined) bad(event, 'has the v1 shape (price); upcast it first (orderUpcasters)');
  return { sku: text(event, d, 'sku'), quantity: quantity(event, d), price: money(event, d, 'unitPrice') };
}

export function parseUpdated(event: RecordedEvent): { customerId?: string; status?: string } {
  const d = obj(event, event.data, 'data');
  const customerId = optionalText(event, d, 'customerId');
  const status = optionalText(event, d, 'status');
  return { ...(customerId !== undefined ? { customerId } : {}), ...(status !== undefined ? { status } : {}) };
}

/** A reconciliation repair: the legacy orders row's after-image (read-model column names, canonical text). */
export interface OrderRepairData {
  customerId: string;
  status: string;
  totalAmount: string;
  createdAt: string;
  updatedAt: string;
}

export function parseRepaired(event: RecordedEvent): OrderRepairData {
  const d = obj(event, event.data, 'data');
  return {
    customerId: text(event, d, 'customer_id'),
    status: text(event, d, 'status'),
    totalAmount: money(event, d, 'total_amount'),
    createdAt: instant(event, d, 'created_at'),
    updatedAt: instant(event, d, 'updated_at'),
  };
}

/**
 * When legacy changed the order: the `updatedAt` of its answer when the event carries it,
 * else (events captured without responseData) the event's recordedAt, a few ms later.
 */
export function updatedAtOf(event: RecordedEvent): string {
  const d = obj(event, event.data, 'data');
  return d.updatedAt === undefined || d.updatedAt === null ? recordedAt(event) : instant(event, d, 'updatedAt');
}

export function recordedAt(event: RecordedEvent): string {
  if (!INSTANT.test(event.recordedAt)) bad(event, `recordedAt must be ISO 8601 UTC, got ${JSON.stringify(event.recordedAt)}`);
  return event.recordedAt;
}
