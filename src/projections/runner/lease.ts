import type { Executor } from '../../db/executor.ts';
import { PROJECTION_COLUMNS, toProjectionRow, type ProjectionRow, type RawProjectionRow } from './projectionRow.ts';

/**
 * Leadership per projection: a lease row claimed by a conditional UPDATE, renewed while
 * held, claimable by anyone once expired. Times come from the database clock, so replicas
 * with skewed clocks still agree on expiry. No session-level advisory lock: those break
 * behind a transaction-pooling PgBouncer.
 *
 * The lease alone is not what keeps a batch from being applied twice (a paused GC can
 * outlive it): every batch also commits through a compare-and-set of the checkpoint
 * under FOR UPDATE (commitBatch.ts).
 */
export async function claimLease(db: Executor, name: string, owner: string, ttlMs: number): Promise<ProjectionRow | null> {
  const { rows } = await db.query<RawProjectionRow>(
    `UPDATE strangler_projections
        SET lease_owner = $2, lease_expires_at = clock_timestamp() + $3 * interval '1 millisecond', updated_at = now()
      WHERE name = $1 AND (lease_owner IS NULL OR lease_owner = $2 OR lease_expires_at < clock_timestamp())
      RETURNING ${PROJECTION_COLUMNS}`,
    [name, owner, ttlMs],
  );
  const row = rows[0];
  return row ? toProjectionRow(row) : null;
}

/** Gives the lease up at once (clean stop), so a standby takes over without waiting for expiry. */
export async function releaseLease(db: Executor, name: string, owner: string): Promise<void> {
  await db.query(
    `UPDATE strangler_projections SET lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
      WHERE name = $1 AND lease_owner = $2`,
    [name, owner],
  );
}
