import type { Executor } from '../db/executor.ts';
import type { Stage } from '../canary/stages.ts';
import { addCounts, emptyCounts, isEmpty, type EntityCounts } from './window.ts';

/** The guard's tables (migrations/008_guard.sql). Times come from the database clock. */

/** This replica's heartbeat (with its spool depth) and what it counted since the last publish, in one transaction. */
export async function publish(db: Executor, replica: string, spoolDepth: number, counts: Map<string, EntityCounts>): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO strangler_guard_replicas (replica, heartbeat_at, spool_depth) VALUES ($1, now(), $2)
       ON CONFLICT (replica) DO UPDATE SET heartbeat_at = now(), spool_depth = $2`,
      [replica, spoolDepth],
    );
    for (const [entity, c] of counts) {
      if (isEmpty(c)) continue;
      await tx.query(
        `INSERT INTO strangler_guard_counts (replica, entity, reads, rm_reads, rm_failures, compared, mismatches, rm_latency, legacy_latency)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [
          replica,
          entity,
          c.reads,
          c.rmReads,
          c.rmFailures,
          c.compared,
          c.mismatches,
          JSON.stringify(c.rmLatency),
          JSON.stringify(c.legacyLatency),
        ],
      );
    }
  });
}

/** A replica that leaves says so, so the leader stops counting it at once. */
export async function forgetReplica(db: Executor, replica: string): Promise<void> {
  await db.query('DELETE FROM strangler_guard_replicas WHERE replica = $1', [replica]);
}

export interface WindowSums {
  counts: Map<string, EntityCounts>;
  /** Σ spool depth of the live replicas. */
  spoolDepth: number;
  liveReplicas: number;
}

const parse = (v: unknown): number[] => (typeof v === 'string' ? (JSON.parse(v) as number[]) : (v as number[]));

/** Sums over replicas whose heartbeat is younger than liveMs, of rows younger than windowMs. Drops older rows. */
export async function sumWindow(db: Executor, windowMs: number, liveMs: number): Promise<WindowSums> {
  await db.query(`DELETE FROM strangler_guard_counts WHERE at < now() - $1 * interval '1 millisecond'`, [windowMs * 2]);
  const live = await db.query<{ replica: string; spool_depth: string | number }>(
    `SELECT replica, spool_depth FROM strangler_guard_replicas WHERE heartbeat_at > now() - $1 * interval '1 millisecond'`,
    [liveMs],
  );
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT c.entity, c.reads, c.rm_reads, c.rm_failures, c.compared, c.mismatches, c.rm_latency, c.legacy_latency
       FROM strangler_guard_counts c JOIN strangler_guard_replicas r ON r.replica = c.replica
      WHERE c.at > now() - $1 * interval '1 millisecond' AND r.heartbeat_at > now() - $2 * interval '1 millisecond'`,
    [windowMs, liveMs],
  );
  const counts = new Map<string, EntityCounts>();
  for (const r of rows) {
    const entity = String(r.entity);
    const sum = counts.get(entity) ?? emptyCounts();
    counts.set(
      entity,
      addCounts(sum, {
        reads: Number(r.reads),
        rmReads: Number(r.rm_reads),
        rmFailures: Number(r.rm_failures),
        compared: Number(r.compared),
        mismatches: Number(r.mismatches),
        rmLatency: parse(r.rm_latency),
        legacyLatency: parse(r.legacy_latency),
      }),
    );
  }
  return { counts, spoolDepth: live.rows.reduce((a, r) => a + Number(r.spool_depth), 0), liveReplicas: live.rows.length };
}

/** Leadership: the lease row claimed by a conditional UPDATE (like projection leases), renewed every interval. */
export async function claimGuardLease(db: Executor, owner: string, ttlMs: number): Promise<boolean> {
  const { rows } = await db.query(
    `UPDATE strangler_guard_lease SET owner = $1, expires_at = clock_timestamp() + $2 * interval '1 millisecond'
      WHERE name = 'guard' AND (owner IS NULL OR owner = $1 OR expires_at < clock_timestamp()) RETURNING owner`,
    [owner, ttlMs],
  );
  return rows.length > 0;
}

export async function releaseGuardLease(db: Executor, owner: string): Promise<void> {
  await db.query(`UPDATE strangler_guard_lease SET owner = NULL, expires_at = NULL WHERE name = 'guard' AND owner = $1`, [owner]);
}

export async function guardLeader(db: Executor): Promise<string | null> {
  const { rows } = await db.query<{ owner: string | null }>(
    `SELECT owner FROM strangler_guard_lease WHERE name = 'guard' AND expires_at > clock_timestamp()`,
  );
  return rows[0]?.owner ?? null;
}

export interface LatestReport {
  runId: number;
  mismatchRate: number;
  verdict: string;
  ageMs: number;
}

/** The entity's latest finished reconciliation (strangler_reconcile_runs), or null. */
export async function latestReport(db: Executor, entity: string): Promise<LatestReport | null> {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT run_id, report->>'mismatchRate' AS mismatch_rate, report->>'verdict' AS verdict,
            (extract(epoch FROM now() - finished_at) * 1000)::bigint AS age_ms
       FROM strangler_reconcile_runs WHERE entity = $1 AND status = 'finished' AND report IS NOT NULL
      ORDER BY run_id DESC LIMIT 1`,
    [entity],
  );
  const r = rows[0];
  if (!r) return null;
  return { runId: Number(r.run_id), mismatchRate: Number(r.mismatch_rate), verdict: String(r.verdict), ageMs: Number(r.age_ms) };
}

export async function saveStatus(db: Executor, entity: string, status: unknown): Promise<void> {
  await db.query(
    `INSERT INTO strangler_guard_status (entity, status, updated_at) VALUES ($1, $2, now())
     ON CONFLICT (entity) DO UPDATE SET status = $2, updated_at = now()`,
    [entity, JSON.stringify(status)],
  );
}

export async function loadStatuses(db: Executor): Promise<Map<string, unknown>> {
  const { rows } = await db.query<{ entity: string; status: unknown }>('SELECT entity, status FROM strangler_guard_status');
  return new Map(rows.map((r) => [r.entity, typeof r.status === 'string' ? JSON.parse(r.status) : r.status]));
}

export interface Hold {
  entity: string;
  fromStage: Stage;
  fromPercent: number;
}

export async function saveHold(db: Executor, hold: Hold): Promise<void> {
  await db.query(
    `INSERT INTO strangler_guard_holds (entity, from_stage, from_percent, at) VALUES ($1, $2, $3, now())
     ON CONFLICT (entity) DO UPDATE SET from_stage = $2, from_percent = $3, at = now()`,
    [hold.entity, hold.fromStage, hold.fromPercent],
  );
}

export async function loadHolds(db: Executor): Promise<Map<string, Hold>> {
  const { rows } = await db.query<{ entity: string; from_stage: Stage; from_percent: string | number }>(
    'SELECT entity, from_stage, from_percent FROM strangler_guard_holds',
  );
  return new Map(rows.map((r) => [r.entity, { entity: r.entity, fromStage: r.from_stage, fromPercent: Number(r.from_percent) }]));
}

export async function dropHold(db: Executor, entity: string): Promise<void> {
  await db.query('DELETE FROM strangler_guard_holds WHERE entity = $1', [entity]);
}
