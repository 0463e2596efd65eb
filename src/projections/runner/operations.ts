import type { Executor } from '../../db/executor.ts';
import type { EventStore } from '../../eventstore/index.ts';
import { ProjectionStateError, UnknownProjectionError } from './errors.ts';
import { listProjections, readProjection, sameCheckpoint, type ProjectionRow } from './projectionRow.ts';

const CLEAR_FAILURE = `failed_event_id = NULL, failed_tx = NULL, failed_position = NULL, last_error = NULL, failed_at = NULL, retries = 0`;
const CLEAR_PAUSE = `paused_by = NULL, pause_reason = NULL, paused_at = NULL`;

async function lockRow(tx: Executor, name: string): Promise<ProjectionRow> {
  const row = await readProjection(tx, name, { forUpdate: true });
  if (!row)
    throw new UnknownProjectionError(
      name,
      (await listProjections(tx)).map((r) => r.name),
    );
  return row;
}

/**
 * `strangler projections pause NAME`: an operator's pause. The state lives in the projection
 * row, so it holds on every replica: the lease holder's next batch fails its compare-and-set
 * (the status is checked under the row lock, commitBatch.ts) and the runner idles until
 * resumed. Events keep arriving and wait in the log; nothing is skipped.
 */
export async function pauseByOperator(db: Executor, name: string, by: string, reason: string | null): Promise<ProjectionRow> {
  return db.transaction(async (tx) => {
    const row = await lockRow(tx, name);
    if (row.status === 'paused')
      throw new ProjectionStateError(
        row.failure
          ? `Projection "${name}" is already paused on failing event ${row.failure.eventId}: resume or skip it instead.`
          : `Projection "${name}" is already paused by ${row.pause?.by ?? 'an operator'}${row.pause?.reason ? ` (${row.pause.reason})` : ''}.`,
      );
    const { rows } = await tx.query<{ at: string }>(
      `UPDATE strangler_projections SET status = 'paused', paused_by = $2, pause_reason = $3, paused_at = now(), updated_at = now()
        WHERE name = $1 RETURNING to_char(paused_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at`,
      [name, by, reason],
    );
    return { ...row, status: 'paused' as const, pause: { by, reason, at: rows[0]!.at } };
  });
}

/**
 * `strangler projections resume NAME`: back to running at the same checkpoint. After a
 * failure the failing event is tried again (after the handler was fixed); if it fails again
 * the projection pauses again with the new error. After an operator's pause the runner
 * catches up from where it stopped. The lease holder sees it at its next poll.
 */
export async function resumeProjection(db: Executor, name: string): Promise<ProjectionRow> {
  return db.transaction(async (tx) => {
    const row = await lockRow(tx, name);
    if (row.status !== 'paused') throw new ProjectionStateError(`Projection "${name}" is ${row.status}, not paused: nothing to resume.`);
    await tx.query(
      `UPDATE strangler_projections SET status = 'running', ${CLEAR_FAILURE}, ${CLEAR_PAUSE}, updated_at = now() WHERE name = $1`,
      [name],
    );
    return { ...row, status: 'running' as const, failure: null, pause: null };
  });
}

export interface SkippedEvent {
  eventId: string;
  position: number;
  type: string;
  streamId: string;
}

/**
 * `strangler projections skip NAME`: moves the failing event to strangler_dead_letters
 * (with its error and who skipped it) and the checkpoint past it, in one transaction under
 * the projection row lock. The only way an event is ever not applied, and it leaves a record.
 */
export async function skipFailedEvent(store: EventStore, name: string, skippedBy: string): Promise<SkippedEvent> {
  const before = await readProjection(store.db, name);
  if (!before)
    throw new UnknownProjectionError(
      name,
      (await listProjections(store.db)).map((r) => r.name),
    );
  // The paused runner committed every event of its streams before the poison one; events of
  // other streams may lie between (it never reads them), so the poison one is read at its own
  // checkpoint: nothing orders between (tx, position - 1) and (tx, position).
  const failed = before.failure?.checkpoint;
  const next = failed
    ? (await store.readAll({ after: { transactionId: failed.transactionId, position: failed.position - 1 }, limit: 1 })).events[0]
    : undefined;
  return store.db.transaction(async (tx) => {
    const row = await lockRow(tx, name);
    const failure = row.failure;
    if (row.status !== 'paused' || !failure)
      throw new ProjectionStateError(`Projection "${name}" is ${row.status} with no failing event: nothing to skip.`);
    if (!sameCheckpoint(row.checkpoint, before.checkpoint) || !next || next.id !== failure.eventId) {
      throw new ProjectionStateError(
        `Projection "${name}": the failing event ${failure.eventId} is not the next one after the checkpoint (position ${row.checkpoint.position}); run status again and retry.`,
      );
    }
    await tx.query(
      `INSERT INTO strangler_dead_letters (projection, event_id, position, transaction_id, event_type, stream_id, error, skipped_by)
       VALUES ($1, $2, $3, $4::xid8, $5, $6, $7, $8)`,
      [name, next.id, next.position, next.transactionId, next.type, next.streamId, failure.error, skippedBy],
    );
    await tx.query(
      `UPDATE strangler_projections
          SET status = 'running', checkpoint_tx = $2::xid8, checkpoint_pos = $3, applied_events = applied_events + 1, ${CLEAR_FAILURE}, updated_at = now()
        WHERE name = $1`,
      [name, next.transactionId, next.position],
    );
    return { eventId: next.id, position: next.position, type: next.type, streamId: next.streamId };
  });
}

export interface DeadLetter {
  projection: string;
  eventId: string;
  position: number;
  type: string | null;
  error: string;
  skippedBy: string | null;
  skippedAt: string;
}

export async function listDeadLetters(db: Executor, projection?: string): Promise<DeadLetter[]> {
  const { rows } = await db.query<{
    projection: string;
    event_id: string;
    position: string;
    event_type: string | null;
    error: string;
    skipped_by: string | null;
    skipped_at: string;
  }>(
    `SELECT projection, event_id, position, event_type, error, skipped_by, skipped_at FROM strangler_dead_letters
      WHERE $1::text IS NULL OR projection = $1 ORDER BY skipped_at, position`,
    [projection ?? null],
  );
  return rows.map((r) => ({
    projection: r.projection,
    eventId: r.event_id,
    position: Number(r.position),
    type: r.event_type,
    error: r.error,
    skippedBy: r.skipped_by,
    skippedAt: r.skipped_at,
  }));
}
