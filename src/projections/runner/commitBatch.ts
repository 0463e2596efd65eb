import type { Executor } from '../../db/executor.ts';
import type { Checkpoint, RecordedEvent } from '../../eventstore/types.ts';
import type { TableNames } from '../types.ts';
import { LeaseLostError } from './errors.ts';
import { readProjection, sameCheckpoint, type ProjectionRow } from './projectionRow.ts';

export interface Holder {
  name: string;
  owner: string;
  /** The checkpoint this runner last committed or read; the compare half of compare-and-set. */
  expected: Checkpoint;
  leaseMs: number;
}

/**
 * Locks the projection row and checks that this runner still holds the lease, that the
 * checkpoint is still the one it read from, and that the projection is running. Every
 * write of a runner goes through here first, in the transaction that makes it: a second
 * runner that overlaps (expired lease, paused process), an operator's skip or a rebuild's
 * swap changes one of the three, and the batch aborts instead of applying twice.
 */
export async function lockAsHolder(tx: Executor, h: Holder): Promise<ProjectionRow> {
  const row = await readProjection(tx, h.name, { forUpdate: true });
  if (!row) throw new LeaseLostError(h.name, 'its row is gone');
  if (row.leaseOwner !== h.owner) throw new LeaseLostError(h.name, `the lease is held by ${row.leaseOwner ?? 'nobody'}`);
  if (!sameCheckpoint(row.checkpoint, h.expected))
    throw new LeaseLostError(h.name, `the checkpoint moved to ${row.checkpoint.position} (expected ${h.expected.position})`);
  if (row.status !== 'running') throw new LeaseLostError(h.name, `the projection is ${row.status}`);
  return row;
}

/**
 * Applies a batch and moves the checkpoint in ONE transaction (exactly-once effect under
 * at-least-once delivery): either both commit or neither does. Renews the lease too.
 *
 * `through`: where the read window ended when it holds events of other streams after the
 * last one here (a projection reads only its own streams): the checkpoint moves past them,
 * even with no event of ours to apply. Default: the last event's checkpoint.
 */
export async function commitBatch(
  db: Executor,
  h: Holder,
  events: readonly RecordedEvent[],
  apply: (tx: Executor, tables: TableNames) => Promise<void>,
  through?: Checkpoint,
): Promise<Checkpoint> {
  const last = events[events.length - 1];
  const next: Checkpoint | undefined = through ?? (last && { transactionId: last.transactionId, position: last.position });
  if (!next || sameCheckpoint(next, h.expected)) return h.expected;
  await db.transaction(async (tx) => {
    const row = await lockAsHolder(tx, h);
    await apply(tx, row.tables);
    await tx.query(
      `UPDATE strangler_projections
          SET checkpoint_tx = $2::xid8, checkpoint_pos = $3, applied_events = applied_events + $4, retries = 0,
              lease_expires_at = clock_timestamp() + $5 * interval '1 millisecond', updated_at = now()
        WHERE name = $1`,
      [h.name, next.transactionId, next.position, events.length, h.leaseMs],
    );
  });
  return next;
}

/** pause_and_alert: status paused, the failing event (the first after the checkpoint) and its error kept. */
export async function pauseProjection(db: Executor, h: Holder, event: RecordedEvent, error: string, retries: number): Promise<void> {
  await db.transaction(async (tx) => {
    await lockAsHolder(tx, h);
    await tx.query(
      `UPDATE strangler_projections
          SET status = 'paused', failed_event_id = $2, failed_tx = $3::xid8, failed_position = $4, last_error = $5,
              failed_at = now(), retries = $6, updated_at = now()
        WHERE name = $1`,
      [h.name, event.id, event.transactionId, event.position, error, retries],
    );
  });
}
