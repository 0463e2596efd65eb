import {
  defineProjection,
  readAppliedVersions,
  streamCategory,
  streamKeyParser,
  tableName,
  tombstoneDdl,
  writeTombstones,
  type ProjectionModule,
  type RecordedEvent,
  type TableNames,
} from 'strangler-sidecar/projections';
import { orderFold } from './aggregate.ts';
import { ORDER_EVENT_TYPES } from './events.ts';
import { foldOrders } from './fold.ts';
import { ordersDdl, writeOrderChanges, type OrdersTables } from './statements.ts';

export interface OrdersProjectionOptions {
  /** Projection name (strangler_projections.name). Default `orders`. */
  name?: string;
  /** The entity's stream template; the order id is its `{id}`. Default `orders-{id}`. */
  stream?: string;
}

/** Logical tables: the two legacy-shaped ones readers query, and the deleted orders' tombstones. */
export const ORDERS_TABLES = ['orders', 'order_items', 'order_tombstones'] as const;

const tablesOf = (t: TableNames): OrdersTables => ({
  orders: tableName(t, 'orders'),
  items: tableName(t, 'order_items'),
  tombstones: tableName(t, 'order_tombstones'),
});

/**
 * The orders read model of the sample service: `orders` and `order_items` with the legacy
 * columns (reconciliation compares id, customer_id, status, total_amount, created_at, updated_at).
 *
 *   OrderCreated   → insert the order and its items (total, times and status as legacy answered)
 *   OrderItemAdded → insert the item; total_amount += quantity × unitPrice (NUMERIC)
 *   OrderPaid      → status PAID;   OrderCancelled → status CANCELLED
 *   OrderUpdated   → customer_id / status where given
 *   OrderDeleted   → delete the order and its items; a tombstone keeps its version
 *
 * updated_at: legacy stamps it at apply time, with its own clock. The read model holds the
 * updatedAt of legacy's answer the last applied event carries (OrderCreated's, and the
 * others' through `responseData: ["$.updatedAt"]` in the spec). An event without one (captured
 * before the spec asked for it) stands for its recordedAt, a few ms after legacy's commit: such
 * events project as they always did, so the module's version stays 1.
 *
 * A batch costs one read (the applied versions of its orders) and at most six writes,
 * whatever its size: events are folded per order in log order, then written set-based.
 */
export function createOrdersProjection(opts: OrdersProjectionOptions = {}): ProjectionModule {
  const stream = opts.stream ?? 'orders-{id}';
  const orderIdOf = streamKeyParser(stream);
  const handled = new Set<string>(ORDER_EVENT_TYPES);
  return defineProjection({
    name: opts.name ?? 'orders',
    version: 1,
    tables: ORDERS_TABLES,
    handles: ORDER_EVENT_TYPES,
    streams: [streamCategory(stream)],
    ddl: (t) => `${ordersDdl(tablesOf(t))}\n${tombstoneDdl(tableName(t, 'order_tombstones'))}`,
    async apply(tx, events: readonly RecordedEvent[], t) {
      const tables = tablesOf(t);
      const mine = events.filter((e) => handled.has(e.type));
      if (mine.length === 0) return;
      const ids = [...new Set(mine.map((e) => orderIdOf(e.streamId)))];
      const applied = await readAppliedVersions(tx, { rows: tables.orders, key: 'id', tombstones: tables.tombstones }, ids);
      const changes = foldOrders(mine, applied, orderIdOf);
      if (changes.length === 0) return;
      await writeOrderChanges(tx, tables, changes);
      await writeTombstones(
        tx,
        tables.tombstones,
        changes.filter((c) => c.deleted).map((c) => ({ key: c.id, version: c.lastVersion })),
      );
    },
    fold: orderFold,
  });
}

/** The sample's projection with its defaults. */
export const ordersProjection: ProjectionModule = createOrdersProjection();
