import type { Executor } from '../db/executor.ts';
import { EVENT_COLUMNS, toRecordedEvent, type EventRow } from './rows.ts';
import type { Checkpoint, RecordedEvent } from './types.ts';

export interface ReadAllResult {
  events: RecordedEvent[];
  /** Pass back as `after` for the next batch; unchanged when nothing was read. */
  checkpoint: Checkpoint;
}

/**
 * The next batch of the global log after a checkpoint, in (transaction_id, position) order.
 *
 * Do NOT read events at or above the snapshot xmin: a transaction still in progress may
 * commit below any position seen so far. Below xmin every writing transaction has ended,
 * so the set is final and a (transaction_id, position) checkpoint never skips or repeats.
 * The cost: one long open transaction anywhere on the server holds visibility back
 * (see invisibleCommittedCount).
 */
export async function readAll(db: Executor, opts: { after: Checkpoint; limit: number }): Promise<ReadAllResult> {
  const { rows } = await db.query<EventRow>(
    `SELECT ${EVENT_COLUMNS} FROM strangler_events
      WHERE (transaction_id, global_position) > ($1::xid8, $2::bigint)
        AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
      ORDER BY transaction_id, global_position
      LIMIT $3`,
    [opts.after.transactionId, opts.after.position, opts.limit],
  );
  const events = rows.map(toRecordedEvent);
  const last = events[events.length - 1];
  return { events, checkpoint: last ? { transactionId: last.transactionId, position: last.position } : opts.after };
}

/** Highest global position stored (0 when empty). Committed events only. */
export async function headPosition(db: Executor): Promise<number> {
  const { rows } = await db.query<{ head: string | null }>('SELECT max(global_position) AS head FROM strangler_events');
  return Number(rows[0]?.head ?? 0);
}

/** Committed events a global reader cannot see yet because an older transaction is still open. */
export async function invisibleCommittedCount(db: Executor): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    'SELECT count(*) AS n FROM strangler_events WHERE transaction_id >= pg_snapshot_xmin(pg_current_snapshot())',
  );
  return Number(rows[0]?.n ?? 0);
}

/**
 * Events after a checkpoint: visible ones plus those committed above the snapshot xmin
 * (they are behind too, only not readable yet). A projection's lag in events.
 */
export async function countAfter(db: Executor, after: Checkpoint): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    'SELECT count(*) AS n FROM strangler_events WHERE (transaction_id, global_position) > ($1::xid8, $2::bigint)',
    [after.transactionId, after.position],
  );
  return Number(rows[0]?.n ?? 0);
}

/**
 * The checkpoint of the event at a global position, as this cluster stores it (null when
 * no event has that position). Re-basing after an epoch change: positions survive a
 * dump/restore, transaction ids need not.
 */
export async function checkpointAt(db: Executor, position: number): Promise<Checkpoint | null> {
  const { rows } = await db.query<{ tx: string }>('SELECT transaction_id::text AS tx FROM strangler_events WHERE global_position = $1', [
    position,
  ]);
  const row = rows[0];
  return row ? { transactionId: row.tx, position } : null;
}
