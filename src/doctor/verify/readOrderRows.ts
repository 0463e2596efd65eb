import type { Executor } from '../../db/executor.ts';
import { formatCents, parseCents } from '../../projections/aggregates/cents.ts';
import type { OrderRows } from '../../projections/aggregates/order.ts';
import { normalizeTimestamp } from '../../projections/aggregates/timestamps.ts';
import { quoteTable } from './readModelTables.ts';

// Every column as text, then normalised here: the read model's column types belong to the
// projection module (NUMERIC or text, timestamp or timestamptz), the comparison must not.
const money = (v: string) => {
  const c = parseCents(v);
  return c === undefined ? v : formatCents(c);
};
const time = (v: string) => normalizeTimestamp(v) ?? v;

/** The projected order row and its items, in the same shape orderRows() gives; null when there is no row. */
export async function readOrderRows(
  db: Executor,
  tables: { orders: string; order_items: string },
  id: string,
): Promise<{ rows: OrderRows | null; orphanItems: number }> {
  const { rows } = await db.query<OrderRows['order']>(
    `SELECT id::text AS id, customer_id::text AS customer_id, status::text AS status, total_amount::text AS total_amount,
            created_at::text AS created_at, updated_at::text AS updated_at
       FROM ${quoteTable(tables.orders)} WHERE id = $1`,
    [id],
  );
  const { rows: items } = await db.query<OrderRows['items'][number]>(
    `SELECT sku::text AS sku, quantity::text AS quantity, price::text AS price FROM ${quoteTable(tables.order_items)} WHERE order_id = $1`,
    [id],
  );
  const normalizedItems = items
    .map((i) => ({ sku: i.sku, quantity: i.quantity, price: money(i.price) }))
    .sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0));
  const row = rows[0];
  if (!row) return { rows: null, orphanItems: items.length };
  return {
    rows: {
      order: { ...row, total_amount: money(row.total_amount), created_at: time(row.created_at), updated_at: time(row.updated_at) },
      items: normalizedItems,
    },
    orphanItems: 0,
  };
}
