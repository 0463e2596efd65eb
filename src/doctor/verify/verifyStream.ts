import type { Logger } from 'pino';
import { PgState, sqlState, type Executor } from '../../db/executor.ts';
import { StranglerError } from '../../errors/StranglerError.ts';
import type { EventStore } from '../../eventstore/index.ts';
import { orderAggregate, orderRows } from '../../projections/aggregates/order.ts';
import { rehydrate } from '../../snapshots/rehydrate.ts';
import { compareOrder, type FieldDifference } from './compareOrder.ts';
import { readModelTables } from './readModelTables.ts';
import { readOrderRows } from './readOrderRows.ts';

export interface VerifyOptions {
  /** Entity name → stream template (config entities.*.stream). Default { orders: 'orders-{id}' }. */
  streams?: Record<string, string>;
  /** The projection whose tables hold the read model. Default: the entity's name. */
  projection?: string;
  /** eventStore.snapshotInterval. */
  snapshotInterval: number;
  useSnapshots?: boolean;
  logger?: Logger;
}

export interface VerifyResult {
  streamId: string;
  entity: string;
  id: string;
  projection: string;
  /** Stream version replayed. */
  version: number;
  equal: boolean;
  /**
   * The projection has not applied the stream's last event yet: differences may be lag,
   * not drift. null when the projection has no checkpoint row.
   */
  pending: boolean | null;
  differences: FieldDifference[];
  replay: {
    eventsRead: number;
    eventsReplayed: number;
    snapshotVersion: number | null;
    snapshotDiscarded: string | null;
    snapshotSaved: number | null;
  };
}

/** Entities verify can fold. Only orders has an aggregate so far. */
const FOLDS = new Set(['orders']);

export function parseStreamId(streamId: string, streams: Record<string, string>): { entity: string; id: string } | null {
  for (const [entity, template] of Object.entries(streams)) {
    const at = template.indexOf('{id}');
    if (at < 0) continue;
    const prefix = template.slice(0, at);
    const suffix = template.slice(at + 4);
    if (streamId.length > prefix.length + suffix.length && streamId.startsWith(prefix) && streamId.endsWith(suffix)) {
      return { entity, id: streamId.slice(prefix.length, streamId.length - suffix.length) };
    }
  }
  return null;
}

/**
 * `strangler doctor verify STREAM`: replays the stream (from its snapshot when valid)
 * through the in-memory fold and compares the result with the projected rows, field by field.
 */
export async function verifyStream(store: EventStore, db: Executor, streamId: string, opts: VerifyOptions): Promise<VerifyResult> {
  const streams = opts.streams ?? { orders: 'orders-{id}' };
  const parsed = parseStreamId(streamId, streams);
  if (!parsed) {
    throw new StranglerError(
      'usage',
      `Stream ${JSON.stringify(streamId)} matches no entity's stream template (${Object.values(streams).join(', ')}). Example: strangler doctor verify orders-ord_0123456789abcdef`,
      { status: 400 },
    );
  }
  if (!FOLDS.has(parsed.entity)) {
    throw new StranglerError('usage', `verify has no fold for entity "${parsed.entity}"; it can verify: ${[...FOLDS].join(', ')}.`, {
      status: 400,
    });
  }
  const projection = opts.projection ?? parsed.entity;
  const r = await rehydrate(store, db, streamId, orderAggregate, {
    interval: opts.snapshotInterval,
    ...(opts.logger ? { logger: opts.logger } : {}),
    ...(opts.useSnapshots === undefined ? {} : { useSnapshots: opts.useSnapshots }),
  });
  if (r.version === 0) throw new StranglerError('not_found', `Stream ${streamId} has no events.`, { status: 404 });

  const tables = await readModelTables(db, projection, ['orders', 'order_items']);
  const physical = { orders: tables.orders ?? 'orders', order_items: tables.order_items ?? 'order_items' };
  const actual = await readOrderRows(db, physical, r.state.id ?? parsed.id).catch((err: unknown) => {
    if (sqlState(err) !== PgState.undefinedTable) throw err;
    throw new StranglerError(
      'no_read_model',
      `The read-model tables ${physical.orders} / ${physical.order_items} do not exist in this database: has the ${projection} projection run? (${(err as Error).message})`,
      { status: 404, cause: err },
    );
  });
  const differences = compareOrder(orderRows(r.state), actual.rows, { deleted: r.state.deleted, orphanItems: actual.orphanItems });
  return {
    streamId,
    entity: parsed.entity,
    id: r.state.id ?? parsed.id,
    projection,
    version: r.version,
    equal: differences.length === 0,
    pending: await lastEventPending(db, projection, streamId, r.version),
    differences,
    replay: {
      eventsRead: r.eventsRead,
      eventsReplayed: r.eventsReplayed,
      snapshotVersion: r.snapshot.usedVersion,
      snapshotDiscarded: r.snapshot.discarded,
      snapshotSaved: r.snapshot.savedVersion,
    },
  };
}

/** Is the stream's event at `version` past the projection's (transaction_id, position) checkpoint? */
async function lastEventPending(db: Executor, projection: string, streamId: string, version: number): Promise<boolean | null> {
  const { rows: exists } = await db.query<{ t: string | null }>(`SELECT to_regclass('strangler_projections')::text AS t`);
  if (!exists[0]?.t) return null;
  const { rows } = await db.query<{ pending: boolean }>(
    `SELECT (e.transaction_id, e.global_position) > (p.checkpoint_tx, p.checkpoint_pos) AS pending
       FROM strangler_events e, strangler_projections p
      WHERE e.stream_id = $1 AND e.stream_version = $2 AND p.name = $3
      LIMIT 1`,
    [streamId, version, projection],
  );
  const v = rows[0]?.pending as unknown;
  return v === undefined ? null : v === true || v === 't';
}
