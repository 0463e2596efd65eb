import { randomBytes } from 'node:crypto';
import type { Executor, QueryResult } from 'strangler-sidecar';
import { centsFromDb, formatCents } from './money.ts';
import { isoFromDb } from './time.ts';
import type { OrderStatus, Page } from './validation.ts';

/** The order as the HTTP API shows it. Amounts are strings with 2 decimals, times ISO UTC with microseconds. */
export interface OrderJson {
  id: string;
  customerId: string;
  status: OrderStatus;
  totalAmount: string;
  items: OrderItemJson[];
  createdAt: string;
  updatedAt: string;
}

/** The list route answers summaries: the order row without its items. */
export type OrderSummaryJson = Omit<OrderJson, 'items'>;

export interface OrderItemJson {
  sku: string;
  quantity: number;
  price: string;
}

export interface OrderRow {
  id: string;
  customer_id: string;
  status: OrderStatus;
  total_amount: string;
  created_at: string;
  updated_at: string;
}

export interface ItemRow {
  order_id: string;
  sku: string;
  quantity: number | string;
  price: string;
}

/** `ord_` + 16 lowercase hex characters: the same text, collation and order on every database. */
export function newOrderId(): string {
  return `ord_${randomBytes(8).toString('hex')}`;
}

/**
 * Runs one statement written with `$1…` placeholders on any dialect. On MySQL each `$n`
 * becomes `?` and the parameters are laid out in the order they appear in the text.
 */
export function sql<R>(db: Executor, text: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
  if (db.dialect !== 'mysql') return db.query<R>(text, params);
  const ordered: unknown[] = [];
  const converted = text.replace(/\$(\d+)/g, (_, n: string) => {
    ordered.push(params[Number(n) - 1]);
    return '?';
  });
  return db.query<R>(converted, ordered);
}

const ORDER_COLUMNS = 'id, customer_id, status, total_amount, created_at, updated_at';

export function toItemJson(row: ItemRow): OrderItemJson {
  return { sku: row.sku, quantity: Number(row.quantity), price: formatCents(centsFromDb(row.price)) };
}

export function toSummaryJson(row: OrderRow): OrderSummaryJson {
  return {
    id: row.id,
    customerId: row.customer_id,
    status: row.status,
    totalAmount: formatCents(centsFromDb(row.total_amount)),
    createdAt: isoFromDb(row.created_at),
    updatedAt: isoFromDb(row.updated_at),
  };
}

export function toOrderJson(row: OrderRow, items: readonly ItemRow[]): OrderJson {
  const { createdAt, updatedAt, ...rest } = toSummaryJson(row);
  return { ...rest, items: items.map(toItemJson), createdAt, updatedAt };
}

export async function findOrderRow(db: Executor, id: string): Promise<OrderRow | undefined> {
  const { rows } = await sql<OrderRow>(db, `SELECT ${ORDER_COLUMNS} FROM orders WHERE id = $1`, [id]);
  return rows[0];
}

/**
 * Locks the order row until the transaction ends. Every command on an order takes this
 * lock first, so two concurrent commands on one order run one after the other and the
 * second sees the first one's status and total.
 */
export async function lockOrderRow(tx: Executor, id: string): Promise<OrderRow | undefined> {
  const { rows } = await sql<OrderRow>(tx, `SELECT ${ORDER_COLUMNS} FROM orders WHERE id = $1 FOR UPDATE`, [id]);
  return rows[0];
}

export async function findItemRows(db: Executor, orderId: string): Promise<ItemRow[]> {
  const { rows } = await sql<ItemRow>(db, 'SELECT order_id, sku, quantity, price FROM order_items WHERE order_id = $1 ORDER BY sku', [
    orderId,
  ]);
  return rows;
}

export async function findOrder(db: Executor, id: string): Promise<OrderJson | undefined> {
  const row = await findOrderRow(db, id);
  if (!row) return undefined;
  return toOrderJson(row, await findItemRows(db, id));
}

export async function listOrderRows(db: Executor, customerId: string | undefined, page: Page = { offset: 0 }): Promise<OrderRow[]> {
  const params: unknown[] = customerId === undefined ? [] : [customerId];
  let text = `SELECT ${ORDER_COLUMNS} FROM orders${customerId === undefined ? '' : ' WHERE customer_id = $1'} ORDER BY created_at, id`;
  // MySQL has no OFFSET without LIMIT: "all rows" is its largest LIMIT.
  if (page.limit !== undefined) {
    params.push(page.limit, page.offset);
    text += ` LIMIT $${params.length - 1} OFFSET $${params.length}`;
  } else if (page.offset > 0) {
    params.push(page.offset);
    text += ` ${db.dialect === 'mysql' ? 'LIMIT 18446744073709551615 ' : ''}OFFSET $${params.length}`;
  }
  const { rows } = await sql<OrderRow>(db, text, params);
  return rows;
}

/** One page of orders in key order after `afterId` (keyset pagination), with their items. */
export async function pageOrders(db: Executor, afterId: string, limit: number): Promise<OrderJson[]> {
  const { rows } = await sql<OrderRow>(db, `SELECT ${ORDER_COLUMNS} FROM orders WHERE id > $1 ORDER BY id LIMIT $2`, [afterId, limit]);
  const last = rows.at(-1);
  if (!last) return [];
  const items = await sql<ItemRow>(
    db,
    'SELECT order_id, sku, quantity, price FROM order_items WHERE order_id > $1 AND order_id <= $2 ORDER BY order_id, sku',
    [afterId, last.id],
  );
  const byOrder = new Map<string, ItemRow[]>();
  for (const item of items.rows) {
    const list = byOrder.get(item.order_id) ?? [];
    list.push(item);
    byOrder.set(item.order_id, list);
  }
  return rows.map((row) => toOrderJson(row, byOrder.get(row.id) ?? []));
}

export async function insertOrder(
  tx: Executor,
  order: { id: string; customerId: string; status: OrderStatus; totalCents: bigint; now: string },
): Promise<void> {
  await sql(tx, 'INSERT INTO orders (id, customer_id, status, total_amount, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)', [
    order.id,
    order.customerId,
    order.status,
    formatCents(order.totalCents),
    order.now,
  ]);
}

export async function insertItem(
  tx: Executor,
  orderId: string,
  item: { sku: string; quantity: number; priceCents: bigint },
): Promise<void> {
  await sql(tx, 'INSERT INTO order_items (order_id, sku, quantity, price) VALUES ($1, $2, $3, $4)', [
    orderId,
    item.sku,
    item.quantity,
    formatCents(item.priceCents),
  ]);
}

export async function updateOrder(
  tx: Executor,
  id: string,
  fields: { customerId: string; status: OrderStatus; totalCents: bigint; now: string },
): Promise<void> {
  await sql(tx, 'UPDATE orders SET customer_id = $1, status = $2, total_amount = $3, updated_at = $4 WHERE id = $5', [
    fields.customerId,
    fields.status,
    formatCents(fields.totalCents),
    fields.now,
    id,
  ]);
}

export async function deleteOrder(tx: Executor, id: string): Promise<void> {
  await sql(tx, 'DELETE FROM order_items WHERE order_id = $1', [id]);
  await sql(tx, 'DELETE FROM orders WHERE id = $1', [id]);
}
