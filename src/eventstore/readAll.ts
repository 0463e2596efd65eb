import { eachRow, type Executor } from '../db/executor.ts';
import { EVENT_COLUMNS, RECORDED_AT_UTC, toRecordedEvent, type EventRow } from './rows.ts';
import type { Checkpoint, RecordedEvent } from './types.ts';

export interface ReadAllOptions {
  after: Checkpoint;
  /** Events of the log scanned per call (the window), whether or not they pass the filter. */
  limit: number;
  /**
   * Only events whose stream id starts with one of these (a stream category, e.g. `orders-`).
   * Absent: every event.
   */
  streamPrefixes?: readonly string[];
}

export interface ReadAllResult {
  /** The window's events that pass the filter (all of them without one). */
  events: RecordedEvent[];
  /**
   * Pass back as `after` for the next batch: the end of the window scanned, past events the
   * filter left out (they are read, only not returned); unchanged when nothing was read.
   */
  checkpoint: Checkpoint;
  /** Events in the window scanned; fewer than `limit` means the reader has caught up. */
  scanned: number;
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
export async function readAll(db: Executor, opts: ReadAllOptions): Promise<ReadAllResult> {
  if (opts.streamPrefixes) return readAllFiltered(db, opts, opts.streamPrefixes);
  // Rows become events as they arrive (eachRow): a window of thousands of rows is never
  // held twice over, rows and events, while the rest of it comes in.
  const events: RecordedEvent[] = [];
  await eachRow<EventRow>(
    db,
    `SELECT ${EVENT_COLUMNS} FROM strangler_events
      WHERE (transaction_id, global_position) > ($1::xid8, $2::bigint)
        AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
      ORDER BY transaction_id, global_position
      LIMIT $3`,
    [opts.after.transactionId, opts.after.position, opts.limit],
    (row) => void events.push(toRecordedEvent(row)),
  );
  const last = events[events.length - 1];
  return {
    events,
    checkpoint: last ? { transactionId: last.transactionId, position: last.position } : opts.after,
    scanned: events.length,
  };
}

/**
 * The same window of the log, returning only the events of the given stream categories.
 * Every event of the window comes back as a row (the last one moves the checkpoint past the
 * events left out: a reader whose streams are quiet still advances, and never reads the same
 * foreign events again), but only the wanted ones carry their columns; the others are their
 * position alone. One index scan and no window functions: a count(*) OVER () buffered the
 * whole window, wide rows and all, and cost a catch-up more than the scan itself.
 */
async function readAllFiltered(db: Executor, opts: ReadAllOptions, prefixes: readonly string[]): Promise<ReadAllResult> {
  const events: RecordedEvent[] = [];
  let last: FilteredRow | undefined;
  const scanned = await eachRow<FilteredRow>(
    db,
    `SELECT ${FILTERED_COLUMNS}
       FROM (SELECT *, stream_id ^@ ANY ($4::text[]) AS wanted FROM strangler_events
              WHERE (transaction_id, global_position) > ($1::xid8, $2::bigint)
                AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
              ORDER BY transaction_id, global_position
              LIMIT $3) AS e
      ORDER BY transaction_id, global_position`,
    [opts.after.transactionId, opts.after.position, opts.limit, [...prefixes]],
    (row) => {
      last = row;
      if (row.wanted) events.push(toRecordedEvent(row as EventRow));
    },
  );
  if (!last) return { events: [], checkpoint: opts.after, scanned: 0 };
  return { events, checkpoint: { transactionId: last.tx_id, position: Number(last.global_position) }, scanned };
}

type FilteredRow = { [K in keyof EventRow]: K extends 'global_position' | 'tx_id' ? string : string | null } & { wanted: boolean };

/** EVENT_COLUMNS with everything but the position null for the events the filter leaves out. */
const FILTERED_COLUMNS = `global_position, transaction_id::text AS tx_id, wanted,
  ${['stream_id', 'stream_version', 'event_id', 'event_type', 'data', 'metadata'].map((c) => `CASE WHEN wanted THEN ${c} END AS ${c}`).join(', ')},
  CASE WHEN wanted THEN ${RECORDED_AT_UTC} END AS recorded_at_utc`;

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
