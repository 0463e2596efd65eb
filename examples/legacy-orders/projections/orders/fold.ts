import { ROW_REMOVED, ROW_REPAIRED, type AppliedState, type RecordedEvent } from 'strangler-sidecar/projections';
import { parseCreated, parseItemAdded, parseRepaired, parseUpdated, updatedAtOf, type OrderCreatedData, type OrderLine } from './events.ts';

/**
 * One order's net change from a batch, folded in log order (a stream's events are in
 * version order in the global log). Pure: the SQL in ./statements.ts writes it set-based.
 */
export interface OrderChange {
  id: string;
  /** Stream version of the last event applied; becomes the row's last_version. */
  lastVersion: number;
  /** The order had a row before this batch. */
  existed: boolean;
  /** Created in this batch: the row is written whole (fields below override it). */
  created: OrderCreatedData | undefined;
  customerId: string | undefined;
  status: string | undefined;
  /** Legacy's updatedAt of the last applied event (its answer's, else the event's recordedAt: events.ts updatedAtOf). */
  updatedAt: string | undefined;
  /** Items to insert; `addsToTotal` for OrderItemAdded (the created total already counts its own items). */
  lines: (OrderLine & { addsToTotal: boolean })[];
  /** Deleted in this batch (its last applied event was OrderDeleted). */
  deleted: boolean;
  /** A reconciliation repair set these outright (the total replaces, lines added before it no longer add). */
  totalAmount: string | undefined;
  createdAt: string | undefined;
}

/**
 * Folds a batch into per-order changes, skipping every event the read model already holds.
 *
 * Idempotency: an event applies only when its stream version is above the version last
 * applied to that order (the row's last_version, or its tombstone's after a delete).
 * Re-applying a batch, or any prefix of it, therefore changes nothing.
 *
 * Events for an order the read model has no row for (created before dual-write started, so
 * no OrderCreated in the log) cannot be applied and are left out: the row appears when
 * reconciliation repairs it, and later events apply on top.
 */
export function foldOrders(
  events: readonly RecordedEvent[],
  applied: ReadonlyMap<string, AppliedState>,
  orderIdOf: (streamId: string) => string,
): OrderChange[] {
  const changes = new Map<string, OrderChange>();
  for (const event of events) {
    const id = orderIdOf(event.streamId);
    let c = changes.get(id);
    if (!c) {
      const st = applied.get(id);
      // Every field set up front (no `delete` later): objects keep one shape, which V8 keeps fast.
      c = {
        id,
        lastVersion: st?.lastVersion ?? 0,
        existed: st !== undefined && !st.deleted,
        created: undefined,
        customerId: undefined,
        status: undefined,
        updatedAt: undefined,
        lines: [],
        deleted: false,
        totalAmount: undefined,
        createdAt: undefined,
      };
      changes.set(id, c);
    }
    if (event.version <= c.lastVersion) continue;
    const live = !c.deleted && (c.existed || c.created !== undefined);
    if (event.type === 'OrderCreated') {
      const created = parseCreated(event);
      c.created = created;
      c.customerId = undefined;
      c.status = undefined;
      c.updatedAt = undefined;
      c.lines = created.items.map((i) => ({ sku: i.sku, quantity: i.quantity, price: i.price, addsToTotal: false }));
      c.deleted = false;
      c.totalAmount = undefined;
      c.createdAt = undefined;
    } else if (event.type === ROW_REPAIRED) {
      // The legacy after-image: a row that is not there is created (without items: the
      // orders entity reconciles the orders table); one that is there takes every field.
      const r = parseRepaired(event);
      if (!live) {
        c.created = {
          customerId: r.customerId,
          status: r.status,
          totalAmount: r.totalAmount,
          items: [],
          createdAt: r.createdAt,
          updatedAt: r.updatedAt,
        };
        c.customerId = c.status = c.updatedAt = c.totalAmount = c.createdAt = undefined;
        c.lines = [];
        c.deleted = false;
      } else {
        c.customerId = r.customerId;
        c.status = r.status;
        c.updatedAt = r.updatedAt;
        c.totalAmount = r.totalAmount;
        c.createdAt = r.createdAt;
        for (const l of c.lines) l.addsToTotal = false;
      }
    } else if (!live) {
      continue;
    } else if (event.type === 'OrderItemAdded') {
      const line = parseItemAdded(event);
      c.lines.push({ sku: line.sku, quantity: line.quantity, price: line.price, addsToTotal: true });
      c.updatedAt = updatedAtOf(event);
    } else if (event.type === 'OrderPaid') {
      c.status = 'PAID';
      c.updatedAt = updatedAtOf(event);
    } else if (event.type === 'OrderCancelled') {
      c.status = 'CANCELLED';
      c.updatedAt = updatedAtOf(event);
    } else if (event.type === 'OrderUpdated') {
      const patch = parseUpdated(event);
      if (patch.customerId !== undefined) c.customerId = patch.customerId;
      if (patch.status !== undefined) c.status = patch.status;
      c.updatedAt = updatedAtOf(event);
    } else if (event.type === 'OrderDeleted' || event.type === ROW_REMOVED) {
      c.deleted = true;
      c.created = undefined;
      c.lines = [];
    } else {
      continue;
    }
    c.lastVersion = event.version;
  }
  // Orders whose events were all skipped leave no change behind.
  return [...changes.values()].filter((c) => c.lastVersion > (applied.get(c.id)?.lastVersion ?? 0));
}
