import type { Executor } from '../db/executor.ts';
import { EVENT_COLUMNS, toRecordedEvent, type EventRow } from './rows.ts';
import type { Checkpoint, RecordedEvent } from './types.ts';

/** Events of one stream with version > fromVersion (default 0 = from the start), in version order. */
export async function readStream(
  db: Executor,
  streamId: string,
  opts: { fromVersion?: number; maxCount?: number } = {},
): Promise<RecordedEvent[]> {
  const { rows } = await db.query<EventRow>(
    `SELECT ${EVENT_COLUMNS} FROM strangler_events
      WHERE stream_id = $1 AND stream_version > $2
      ORDER BY stream_version LIMIT $3`,
    [streamId, opts.fromVersion ?? 0, opts.maxCount ?? 1_000_000_000],
  );
  return rows.map(toRecordedEvent);
}

/** The stream's current version, or null when the stream does not exist. */
export async function streamVersion(db: Executor, streamId: string): Promise<number | null> {
  const { rows } = await db.query<{ version: string }>('SELECT version FROM strangler_streams WHERE stream_id = $1', [streamId]);
  return rows[0] ? Number(rows[0].version) : null;
}

/**
 * Where the stream's latest event stands in the global order (transaction_id, position), or
 * null for a stream with no event. A reader whose checkpoint is at or past it has applied
 * every event of the stream (the read path's read-your-writes check). One index probe on
 * (stream_id, stream_version).
 */
export async function streamHead(db: Executor, streamId: string): Promise<Checkpoint | null> {
  const { rows } = await db.query<{ tx: string; pos: string }>(
    `SELECT transaction_id::text AS tx, global_position AS pos FROM strangler_events
      WHERE stream_id = $1 ORDER BY stream_version DESC LIMIT 1`,
    [streamId],
    { name: 'strangler_stream_head' }, // on every read of the read path: planned once per connection
  );
  const row = rows[0];
  return row ? { transactionId: row.tx, position: Number(row.pos) } : null;
}
