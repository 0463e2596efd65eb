import type { Executor } from '../db/executor.ts';
import { EVENT_COLUMNS, toRecordedEvent, type EventRow } from './rows.ts';
import type { RecordedEvent } from './types.ts';

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
