import type { Executor } from '../db/executor.ts';
import type { Checkpoint } from './types.ts';

/**
 * Which of these streams hold an event ordered after a checkpoint, committed or not yet
 * visible: a reader at that checkpoint (a projection) has not applied their latest change.
 * Reconciliation calls such keys `pending` instead of counting them as drift.
 */
export async function streamsWithEventsAfter(db: Executor, streamIds: readonly string[], after: Checkpoint): Promise<Set<string>> {
  if (!streamIds.length) return new Set();
  const { rows } = await db.query<{ stream_id: string }>(
    `SELECT DISTINCT stream_id FROM strangler_events
      WHERE stream_id = ANY($1::text[])
        AND (transaction_id > $2::xid8 OR (transaction_id = $2::xid8 AND global_position > $3))`,
    [streamIds, after.transactionId, after.position],
  );
  return new Set(rows.map((r) => r.stream_id));
}
