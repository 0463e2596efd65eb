import { arrayLiteral, ident, tableIdent, type Executor } from 'strangler-sidecar/projections';
import type { OrderChange } from './fold.ts';

/**
 * Set-based SQL for a batch of order changes: a handful of statements per batch whatever
 * its size, each taking the whole batch as typed arrays (unnest), which PostgreSQL and
 * PGlite read alike. Arrays, not one JSON document: with json_to_recordset (fields looked
 * up by name) and a per-order json_array_elements subplan, inserting 3,300 orders took about
 * twice as long on the server; the items insert costs about the same either way.
 * Money is exact all the way: amounts travel as decimal text into NUMERIC, and the lines an
 * order gained in the batch are summed in integer cents (BigInt), never as JS floats.
 * Instants travel as ISO text with a zone and land as UTC wall-clock timestamp(6), like
 * the legacy columns.
 */
export interface OrdersTables {
  orders: string;
  items: string;
  tombstones: string;
}

const UTC = (expr: string) => `${expr} AT TIME ZONE 'UTC'`;
/** One change per array element: the columns of the created and updated orders, in this order. */
const CHANGE_ARRAYS = `unnest($1::text[], $2::text[], $3::text[], $4::numeric[], $5::numeric[], $6::timestamptz[], $7::timestamptz[], $8::bigint[])`;
const CHANGE_COLUMNS = '(id, customer_id, status, total, added, created_at, updated_at, v)';

export function ordersDdl(t: OrdersTables): string {
  const o = tableIdent(t.orders);
  const i = tableIdent(t.items);
  const bare = t.orders.split('.').pop() ?? t.orders;
  // Same columns and types as the legacy tables (examples/legacy-orders/schema/postgres.sql),
  // plus last_version, the idempotency guard. No foreign key or CHECKs: this projection is
  // the only writer, and a per-row check would cost the catch-up rate for nothing.
  return `CREATE TABLE IF NOT EXISTS ${o} (
  id           varchar(32)   COLLATE "C" NOT NULL PRIMARY KEY,
  customer_id  varchar(64)   COLLATE "C" NOT NULL,
  status       varchar(16)   COLLATE "C" NOT NULL,
  total_amount numeric(12,2) NOT NULL DEFAULT 0,
  created_at   timestamp(6)  NOT NULL,
  updated_at   timestamp(6)  NOT NULL,
  last_version bigint        NOT NULL
);
CREATE INDEX IF NOT EXISTS ${ident(`${bare}_customer_idx`)} ON ${o} (customer_id, created_at);
CREATE TABLE IF NOT EXISTS ${i} (
  order_id varchar(32)   COLLATE "C" NOT NULL,
  sku      varchar(64)   COLLATE "C" NOT NULL,
  quantity integer       NOT NULL,
  price    numeric(12,2) NOT NULL,
  PRIMARY KEY (order_id, sku)
);`;
}

// Not prepared (no statement name): a generic plan made while the read model was empty
// (a rebuild from position 0) would keep seq-scanning it once it holds millions of rows.
// Planning once per batch costs well under a millisecond.
async function run(tx: Executor, _what: string, sql: string, params: unknown[]): Promise<void> {
  await tx.query(sql, params);
}

/** Cents of a validated amount ("9.99", "12.5", "7"; events.ts money() checked it). */
function cents(amount: string): bigint {
  const dot = amount.indexOf('.');
  if (dot < 0) return BigInt(amount) * 100n;
  return BigInt(amount.slice(0, dot)) * 100n + BigInt(amount.slice(dot + 1).padEnd(2, '0'));
}

/** What the order's OrderItemAdded lines of this batch add to its total, as decimal text. */
function addedTotal(c: OrderChange): string {
  let sum = 0n;
  for (const l of c.lines) if (l.addsToTotal) sum += BigInt(l.quantity) * cents(l.price);
  return `${sum / 100n}.${String(sum % 100n).padStart(2, '0')}`;
}

interface ChangeRow {
  id: string;
  customerId: string | null;
  status: string | null;
  total: string | null;
  added: string;
  createdAt: string | null;
  updatedAt: string | null;
  v: number;
}

/** The rows as the eight parameters of CHANGE_ARRAYS. */
function changeParams(rows: readonly ChangeRow[]): unknown[] {
  return [
    arrayLiteral(rows.map((r) => r.id)),
    arrayLiteral(rows.map((r) => r.customerId)),
    arrayLiteral(rows.map((r) => r.status)),
    arrayLiteral(rows.map((r) => r.total)),
    arrayLiteral(rows.map((r) => r.added)),
    arrayLiteral(rows.map((r) => r.createdAt)),
    arrayLiteral(rows.map((r) => r.updatedAt)),
    arrayLiteral(rows.map((r) => r.v)),
  ];
}

export async function writeOrderChanges(tx: Executor, t: OrdersTables, changes: readonly OrderChange[]): Promise<void> {
  const o = tableIdent(t.orders);
  const i = tableIdent(t.items);

  // A delete, or a create over a row that exists (a stream re-created), clears the old items first.
  const clearItems = changes.filter((c) => c.existed && (c.deleted || c.created)).map((c) => c.id);
  if (clearItems.length) await run(tx, 'orders_clear_items', `DELETE FROM ${i} WHERE order_id = ANY($1::text[])`, [clearItems]);
  const deleted = changes.filter((c) => c.existed && c.deleted).map((c) => c.id);
  if (deleted.length) await run(tx, 'orders_delete', `DELETE FROM ${o} WHERE id = ANY($1::text[])`, [deleted]);

  const created: (ChangeRow & { existed: boolean })[] = [];
  for (const c of changes) {
    if (!c.created || c.deleted) continue;
    created.push({
      id: c.id,
      customerId: c.customerId ?? c.created.customerId,
      status: c.status ?? c.created.status,
      total: c.totalAmount ?? c.created.totalAmount,
      added: addedTotal(c),
      createdAt: c.createdAt ?? c.created.createdAt,
      updatedAt: c.updatedAt ?? c.created.updatedAt,
      v: c.lastVersion,
      existed: c.existed,
    });
  }
  // A plain INSERT for new orders (the version check already left out every replay; a
  // speculative ON CONFLICT insert costs a third more per row), an upsert for the rare
  // create over a row that exists.
  const fresh = created.filter((c) => !c.existed);
  const over = created.filter((c) => c.existed);
  const select = `SELECT c.id, c.customer_id, c.status, c.total + c.added, ${UTC('c.created_at')}, ${UTC('c.updated_at')}, c.v
        FROM ${CHANGE_ARRAYS} AS c${CHANGE_COLUMNS}`;
  const columns = '(id, customer_id, status, total_amount, created_at, updated_at, last_version)';
  if (fresh.length) await run(tx, 'orders_insert', `INSERT INTO ${o} ${columns} ${select}`, changeParams(fresh));
  if (over.length) {
    await run(
      tx,
      'orders_recreate',
      `INSERT INTO ${o} AS o ${columns} ${select}
      ON CONFLICT (id) DO UPDATE SET customer_id = EXCLUDED.customer_id, status = EXCLUDED.status, total_amount = EXCLUDED.total_amount,
        created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at, last_version = EXCLUDED.last_version
      WHERE o.last_version < EXCLUDED.last_version`,
      changeParams(over),
    );
  }

  const updated: ChangeRow[] = [];
  for (const c of changes) {
    if (!c.existed || c.created || c.deleted) continue;
    updated.push({
      id: c.id,
      customerId: c.customerId ?? null,
      status: c.status ?? null,
      total: c.totalAmount ?? null,
      added: addedTotal(c),
      createdAt: c.createdAt ?? null,
      updatedAt: c.updatedAt ?? null,
      v: c.lastVersion,
    });
  }
  if (updated.length) {
    await run(
      tx,
      'orders_update',
      `UPDATE ${o} AS o SET
        customer_id  = COALESCE(u.customer_id, o.customer_id),
        status       = COALESCE(u.status, o.status),
        total_amount = COALESCE(u.total, o.total_amount) + u.added,
        created_at   = COALESCE(${UTC('u.created_at')}, o.created_at),
        updated_at   = COALESCE(${UTC('u.updated_at')}, o.updated_at),
        last_version = u.v
      FROM ${CHANGE_ARRAYS} AS u${CHANGE_COLUMNS}
      WHERE o.id = u.id AND o.last_version < u.v`,
      changeParams(updated),
    );
  }

  const orderIds: string[] = [];
  const skus: string[] = [];
  const quantities: number[] = [];
  const prices: string[] = [];
  for (const c of changes) {
    if (c.deleted) continue;
    for (const l of c.lines) {
      orderIds.push(c.id);
      skus.push(l.sku);
      quantities.push(l.quantity);
      prices.push(l.price);
    }
  }
  if (orderIds.length) {
    // No ON CONFLICT: the version check already left out every replay, and legacy refuses a
    // second line with the same sku (409 item_exists). A duplicate here means the log and
    // legacy disagree: the unique violation pauses the projection on it, visibly.
    await run(
      tx,
      'orders_items',
      `INSERT INTO ${i} (order_id, sku, quantity, price)
      SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::numeric[])`,
      [arrayLiteral(orderIds), arrayLiteral(skus), arrayLiteral(quantities), arrayLiteral(prices)],
    );
  }
}
