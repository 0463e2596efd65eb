import type { OrderRows } from '../../projections/aggregates/order.ts';

export interface FieldDifference {
  /** `orders.status`, `order_items[sku=SKU-1].price`, `orders` (row missing or extra). */
  field: string;
  /** From the replayed stream. */
  expected: string | null;
  /** From the read model. */
  actual: string | null;
}

const ORDER_FIELDS = ['id', 'customer_id', 'status', 'total_amount', 'created_at', 'updated_at'] as const;
const describeItem = (i: OrderRows['items'][number]) => `quantity ${i.quantity}, price ${i.price}`;

/**
 * Field by field: the orders row, then the items matched by sku. Pure; both sides already
 * normalised (money as "12.34", times as ISO UTC with microseconds).
 */
export function compareOrder(
  expected: OrderRows | null,
  actual: OrderRows | null,
  opts: { deleted: boolean; orphanItems: number },
): FieldDifference[] {
  const diffs: FieldDifference[] = [];
  if (!expected) {
    if (actual)
      diffs.push({
        field: 'orders',
        expected: opts.deleted ? '(no row: the stream deleted the order)' : '(no row: the stream has no OrderCreated)',
        actual: `row ${actual.order.id}`,
      });
    if (actual?.items.length || opts.orphanItems)
      diffs.push({ field: 'order_items', expected: '(no items)', actual: `${actual?.items.length || opts.orphanItems} item row(s)` });
    return diffs;
  }
  if (!actual) {
    diffs.push({ field: 'orders', expected: `row ${expected.order.id}`, actual: '(no row)' });
    if (opts.orphanItems)
      diffs.push({
        field: 'order_items',
        expected: `${expected.items.length} item row(s) under a row`,
        actual: `${opts.orphanItems} item row(s) without an order row`,
      });
    return diffs;
  }
  for (const f of ORDER_FIELDS) {
    if (expected.order[f] !== actual.order[f]) diffs.push({ field: `orders.${f}`, expected: expected.order[f], actual: actual.order[f] });
  }
  const got = new Map(actual.items.map((i) => [i.sku, i]));
  for (const e of expected.items) {
    const a = got.get(e.sku);
    got.delete(e.sku);
    if (!a) {
      diffs.push({ field: `order_items[sku=${e.sku}]`, expected: describeItem(e), actual: '(no row)' });
      continue;
    }
    if (e.quantity !== a.quantity) diffs.push({ field: `order_items[sku=${e.sku}].quantity`, expected: e.quantity, actual: a.quantity });
    if (e.price !== a.price) diffs.push({ field: `order_items[sku=${e.sku}].price`, expected: e.price, actual: a.price });
  }
  for (const a of got.values()) diffs.push({ field: `order_items[sku=${a.sku}]`, expected: '(no row)', actual: describeItem(a) });
  return diffs;
}
