import type { Executor } from '../../db/executor.ts';

/**
 * Runs recorded before they start. The admin API queues one row per entity when it accepts
 * a request, so its answer names the run ids and every accepted run stays listed: it becomes
 * the running run (claimRun with queuedRunId), ends `skipped` (another replica runs the
 * entity) or `failed` with the error (e.g. the legacy database is unreachable).
 */
export async function queueRuns(
  db: Executor,
  opts: { entities: readonly string[]; trigger: string; owner: string },
): Promise<{ entity: string; runId: number }[]> {
  const { rows } = await db.query<{ run_id: string; entity: string }>(
    `INSERT INTO strangler_reconcile_runs (entity, status, trigger, config_hash, encoding_version, owner, heartbeat_at)
     SELECT e, 'queued', $2, '', 0, $3, now() FROM unnest($1::text[]) WITH ORDINALITY AS t(e, n) ORDER BY n
     RETURNING run_id::text, entity`,
    [opts.entities, opts.trigger, opts.owner],
  );
  return rows.map((r) => ({ entity: r.entity, runId: Number(r.run_id) })).sort((a, b) => a.runId - b.runId);
}

/**
 * A run that ended before it had a row of its own (planning failed: the legacy database
 * unreachable, a column it cannot compare): its queued row turns `failed`, or a failed row
 * is written, so the run list shows it with the error.
 */
export async function recordEarlyFailure(
  db: Executor,
  opts: { entity: string; trigger: string; owner: string; error: string; queuedRunId?: number },
): Promise<void> {
  if (opts.queuedRunId !== undefined) return abandonQueued(db, [opts.queuedRunId], opts.error);
  await db.query(
    `INSERT INTO strangler_reconcile_runs (entity, status, trigger, config_hash, encoding_version, owner, finished_at, error)
     VALUES ($1, 'failed', $2, '', 0, $3, now(), $4)`,
    [opts.entity, opts.trigger, opts.owner, opts.error],
  );
}

/** Queued rows that will not run (planning failed, the sidecar is stopping): failed, with the reason. No-op for rows past queued. */
export async function abandonQueued(db: Executor, runIds: readonly number[], reason: string): Promise<void> {
  if (!runIds.length) return;
  await db.query(
    `UPDATE strangler_reconcile_runs SET status = 'failed', finished_at = now(), error = $2 WHERE run_id = ANY($1::bigint[]) AND status = 'queued'`,
    [runIds, reason],
  );
}

/** How often a waiting queued row's heartbeat is renewed; one older than a few of these was abandoned. */
export const QUEUED_HEARTBEAT_MS = 10_000;

export async function touchQueued(db: Executor, runIds: readonly number[]): Promise<void> {
  await db.query(`UPDATE strangler_reconcile_runs SET heartbeat_at = now() WHERE run_id = ANY($1::bigint[]) AND status = 'queued'`, [
    runIds,
  ]);
}

/** Queued rows of an entity whose sidecar stopped before starting them (nobody renews them): failed. */
export async function failAbandonedQueued(db: Executor, entity: string, staleMs: number, except: number | undefined): Promise<void> {
  await db.query(
    `UPDATE strangler_reconcile_runs SET status = 'failed', finished_at = now(), error = 'abandoned before it started: its sidecar stopped'
      WHERE entity = $1 AND status = 'queued' AND heartbeat_at < now() - make_interval(secs => $2::double precision / 1000)
        AND run_id IS DISTINCT FROM $3::bigint`,
    [entity, staleMs, except ?? null],
  );
}
