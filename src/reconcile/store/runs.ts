import type { Executor } from '../../db/executor.ts';
import type { ReconcileReport } from '../report/types.ts';
import { failAbandonedQueued } from './runQueue.ts';

/**
 * strangler_reconcile_runs: a run's progress (cursor and counters, updated with each
 * chunk's differences in one transaction, so a crash resumes exactly after the last
 * finished chunk) and, once finished, its report.
 */
export interface RunRow {
  runId: number;
  entity: string;
  status: 'queued' | 'running' | 'finished' | 'failed' | 'skipped';
  trigger: string;
  configHash: string;
  owner: string | null;
  startedAt: string;
  cursor: unknown[] | null;
  chunks: number;
  chunkSize: number | null;
  legacyRows: number;
  readModelRows: number;
  matched: number;
  legacySum: bigint;
  readModelSum: bigint;
  prefilteredChunks: number;
  skippedChunks: SkippedChunk[];
  activeMs: number;
  heartbeatAgeMs: number | null;
}

export interface SkippedChunk {
  after: unknown[] | null;
  upTo: unknown[] | null;
  reason: string;
}

const iso = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ${col}`;
/** What every view of a run starts with (RunRow and RunSummary share these fields). */
const IDENTITY = `run_id, entity, status, trigger, ${iso('started_at')}`;
const identity = (r: Record<string, unknown>) => ({
  runId: Number(r.run_id),
  entity: String(r.entity),
  status: r.status as RunRow['status'],
  trigger: String(r.trigger),
  startedAt: String(r.started_at),
});

const COLUMNS = `${IDENTITY}, config_hash, owner, cursor, chunks, chunk_size, legacy_rows, read_model_rows,
  matched, legacy_sum::text AS legacy_sum, read_model_sum::text AS read_model_sum, prefiltered_chunks, skipped_chunks, active_ms,
  (extract(epoch FROM now() - heartbeat_at) * 1000)::bigint AS heartbeat_age_ms`;

const json = <T>(v: unknown): T => (typeof v === 'string' ? (JSON.parse(v) as T) : (v as T));

function toRun(r: Record<string, unknown>): RunRow {
  return {
    ...identity(r),
    configHash: String(r.config_hash),
    owner: r.owner === null ? null : String(r.owner),
    cursor: r.cursor === null ? null : json<unknown[]>(r.cursor),
    chunks: Number(r.chunks),
    chunkSize: r.chunk_size === null ? null : Number(r.chunk_size),
    legacyRows: Number(r.legacy_rows),
    readModelRows: Number(r.read_model_rows),
    matched: Number(r.matched),
    legacySum: BigInt(String(r.legacy_sum)),
    readModelSum: BigInt(String(r.read_model_sum)),
    prefilteredChunks: Number(r.prefiltered_chunks),
    skippedChunks: json<SkippedChunk[]>(r.skipped_chunks),
    activeMs: Number(r.active_ms),
    heartbeatAgeMs: r.heartbeat_age_ms === null ? null : Number(r.heartbeat_age_ms),
  };
}

export interface ClaimOptions {
  entity: string;
  owner: string;
  trigger: string;
  configHash: string;
  encodingVersion: number;
  staleMs: number;
  /** The row the admin API recorded when it accepted the run (runQueue.ts): it becomes the run, or ends `skipped`. */
  queuedRunId?: number;
}

export type Claim = { kind: 'new'; run: RunRow } | { kind: 'resumed'; run: RunRow } | { kind: 'busy'; run: RunRow };

/**
 * Starts a run for an entity, or resumes one whose owner stopped renewing it (a crashed
 * replica) when it was made with the same configuration; a live run elsewhere makes this
 * one `busy` (overlapping runs are skipped, not queued).
 */
export async function claimRun(outer: Executor, opts: ClaimOptions): Promise<Claim> {
  // Claims of one entity are serialised by a transaction-scoped advisory lock (safe behind a
  // transaction-pooling PgBouncer, unlike a session lock held for the whole run); the run row
  // and its heartbeat then keep other replicas off for as long as the run lives.
  return outer.transaction(async (db) => {
    await db.query(`SELECT pg_advisory_xact_lock(hashtext('strangler_reconcile:' || $1))`, [opts.entity]);
    return claimLocked(db, opts);
  });
}

/** Under the entity's claim lock nothing else changes its running row, so one pass decides. */
async function claimLocked(db: Executor, opts: ClaimOptions): Promise<Claim> {
  await failAbandonedQueued(db, opts.entity, opts.staleMs, opts.queuedRunId);
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT ${COLUMNS} FROM strangler_reconcile_runs WHERE entity = $1 AND status = 'running'`,
    [opts.entity],
  );
  const current = rows[0] ? toRun(rows[0]) : null;
  if (current) {
    const stale = current.heartbeatAgeMs === null || current.heartbeatAgeMs > opts.staleMs;
    if (!stale) {
      await skipQueued(db, opts.queuedRunId, `run ${current.runId} of ${opts.entity} is in progress (owner ${current.owner})`);
      return { kind: 'busy', run: current };
    }
    if (current.configHash === opts.configHash) {
      const { rows: taken } = await db.query<Record<string, unknown>>(
        `UPDATE strangler_reconcile_runs SET owner = $2, heartbeat_at = now() WHERE run_id = $1 RETURNING ${COLUMNS}`,
        [current.runId, opts.owner],
      );
      await skipQueued(db, opts.queuedRunId, `run ${current.runId} of ${opts.entity}, interrupted earlier, was resumed instead`);
      return { kind: 'resumed', run: toRun(taken[0]!) };
    }
    await db.query(`UPDATE strangler_reconcile_runs SET status = 'failed', finished_at = now(), error = $2 WHERE run_id = $1`, [
      current.runId,
      'abandoned by its owner; not resumed because the configuration changed since',
    ]);
  }
  if (opts.queuedRunId !== undefined) {
    const { rows: started } = await db.query<Record<string, unknown>>(
      `UPDATE strangler_reconcile_runs SET status = 'running', config_hash = $2, encoding_version = $3, owner = $4, heartbeat_at = now(),
              started_at = now()
        WHERE run_id = $1 AND status = 'queued' RETURNING ${COLUMNS}`,
      [opts.queuedRunId, opts.configHash, opts.encodingVersion, opts.owner],
    );
    if (started[0]) return { kind: 'new', run: toRun(started[0]) };
  }
  const { rows: created } = await db.query<Record<string, unknown>>(
    `INSERT INTO strangler_reconcile_runs (entity, status, trigger, config_hash, encoding_version, owner, heartbeat_at)
     VALUES ($1, 'running', $2, $3, $4, $5, now()) RETURNING ${COLUMNS}`,
    [opts.entity, opts.trigger, opts.configHash, opts.encodingVersion, opts.owner],
  );
  return { kind: 'new', run: toRun(created[0]!) };
}

async function skipQueued(db: Executor, runId: number | undefined, reason: string): Promise<void> {
  if (runId === undefined) return;
  await db.query(
    `UPDATE strangler_reconcile_runs SET status = 'skipped', finished_at = now(), error = $2 WHERE run_id = $1 AND status = 'queued'`,
    [runId, reason],
  );
}

export interface DiffRow {
  keyText: string;
  key: unknown[];
  class: 'missing' | 'extra' | 'differing';
  columns: string[];
  legacy: Record<string, string | null> | null;
  readModel: Record<string, string | null> | null;
}

export interface ChunkProgress {
  cursor: unknown[] | null;
  chunkSize: number;
  legacyRows: number;
  readModelRows: number;
  matched: number;
  legacySum: bigint;
  readModelSum: bigint;
  prefiltered: boolean;
  skipped: SkippedChunk | null;
  activeMs: number;
  diffs: readonly DiffRow[];
}

/** Records one finished chunk: its differences and the advanced cursor, atomically. False = the run is no longer ours. */
export async function recordChunk(db: Executor, runId: number, owner: string, p: ChunkProgress): Promise<boolean> {
  return db.transaction(async (tx) => {
    const { rowCount } = await tx.query(
      `UPDATE strangler_reconcile_runs SET cursor = $3::jsonb, chunks = chunks + 1, chunk_size = $4, legacy_rows = legacy_rows + $5,
              read_model_rows = read_model_rows + $6, matched = matched + $7, legacy_sum = legacy_sum + $8::numeric,
              read_model_sum = read_model_sum + $9::numeric, prefiltered_chunks = prefiltered_chunks + $10,
              skipped_chunks = CASE WHEN $11::jsonb IS NULL THEN skipped_chunks ELSE skipped_chunks || jsonb_build_array($11::jsonb) END,
              active_ms = active_ms + $12, heartbeat_at = now()
        WHERE run_id = $1 AND owner = $2 AND status = 'running'`,
      [
        runId,
        owner,
        JSON.stringify(p.cursor),
        p.chunkSize,
        p.legacyRows,
        p.readModelRows,
        p.matched,
        p.legacySum.toString(),
        p.readModelSum.toString(),
        p.prefiltered ? 1 : 0,
        p.skipped ? JSON.stringify(p.skipped) : null,
        Math.round(p.activeMs),
      ],
    );
    if (rowCount === 0) return false;
    if (p.diffs.length) {
      await tx.query(
        `INSERT INTO strangler_reconcile_diffs (run_id, key_text, key, class, columns, legacy, read_model)
         SELECT $1, d.key_text, d.key, d.class, ARRAY(SELECT jsonb_array_elements_text(d.columns)), d.legacy, d.read_model
           FROM jsonb_to_recordset($2::jsonb) AS d(key_text text, key jsonb, class text, columns jsonb, legacy jsonb, read_model jsonb)
         ON CONFLICT (run_id, key_text) DO NOTHING`,
        [
          runId,
          JSON.stringify(
            p.diffs.map((d) => ({
              key_text: d.keyText,
              key: d.key,
              class: d.class,
              columns: d.columns,
              legacy: d.legacy,
              read_model: d.readModel,
            })),
          ),
        ],
      );
    }
    return true;
  });
}

/** Suspects of a run in key-text order, a page at a time (re-checks never hold them all in memory). */
export async function suspectPage(db: Executor, runId: number, afterKeyText: string | null, limit: number): Promise<DiffRow[]> {
  return diffPage(db, runId, ['suspect'], afterKeyText, limit);
}

async function diffPage(
  db: Executor,
  runId: number,
  statuses: readonly string[],
  afterKeyText: string | null,
  limit: number,
): Promise<DiffRow[]> {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT key_text, key, class, columns, legacy, read_model FROM strangler_reconcile_diffs
      WHERE run_id = $1 AND status = ANY($2::text[]) AND ($3::text IS NULL OR key_text > $3) ORDER BY key_text LIMIT $4`,
    [runId, statuses, afterKeyText, limit],
  );
  return rows.map((r) => ({
    keyText: String(r.key_text),
    key: json<unknown[]>(r.key),
    class: r.class as DiffRow['class'],
    columns: (r.columns as string[]) ?? [],
    legacy: r.legacy === null ? null : json(r.legacy),
    readModel: r.read_model === null ? null : json(r.read_model),
  }));
}

export interface Recheck {
  keyText: string;
  status: 'confirmed' | 'pending' | 'resolved';
  /** The class and values seen on the second look (a row may have changed class). */
  diff: DiffRow | null;
}

export async function recordRechecks(db: Executor, runId: number, checks: readonly Recheck[]): Promise<void> {
  if (!checks.length) return;
  await db.query(
    `UPDATE strangler_reconcile_diffs d SET status = c.status,
            class = COALESCE(c.class, d.class), columns = COALESCE(ARRAY(SELECT jsonb_array_elements_text(c.columns)), d.columns),
            legacy = CASE WHEN c.class IS NULL THEN d.legacy ELSE c.legacy END,
            read_model = CASE WHEN c.class IS NULL THEN d.read_model ELSE c.read_model END
       FROM jsonb_to_recordset($2::jsonb) AS c(key_text text, status text, class text, columns jsonb, legacy jsonb, read_model jsonb)
      WHERE d.run_id = $1 AND d.key_text = c.key_text`,
    [
      runId,
      JSON.stringify(
        checks.map((c) => ({
          key_text: c.keyText,
          status: c.status,
          class: c.diff?.class ?? null,
          columns: c.diff?.columns ?? null,
          legacy: c.diff?.legacy ?? null,
          read_model: c.diff?.readModel ?? null,
        })),
      ),
    ],
  );
}

export interface DiffCounts {
  missing: number;
  extra: number;
  differing: number;
  pending: number;
  resolved: number;
  columns: Record<string, number>;
}

export async function countDiffs(db: Executor, runId: number): Promise<DiffCounts> {
  const { rows } = await db.query<{ class: string; status: string; n: string }>(
    `SELECT class, status, count(*)::text AS n FROM strangler_reconcile_diffs WHERE run_id = $1 GROUP BY class, status`,
    [runId],
  );
  const out: DiffCounts = { missing: 0, extra: 0, differing: 0, pending: 0, resolved: 0, columns: {} };
  for (const r of rows) {
    const n = Number(r.n);
    if (r.status === 'pending') out.pending += n;
    else if (r.status === 'resolved') out.resolved += n;
    else out[r.class as 'missing' | 'extra' | 'differing'] += n;
  }
  const { rows: cols } = await db.query<{ c: string; n: string }>(
    `SELECT c, count(*)::text AS n FROM strangler_reconcile_diffs, unnest(columns) AS c
      WHERE run_id = $1 AND class = 'differing' AND status IN ('confirmed', 'suspect') GROUP BY c ORDER BY c`,
    [runId],
  );
  for (const r of cols) out.columns[r.c] = Number(r.n);
  return out;
}

/** Confirmed differences of a run, in key order, a page at a time (samples, repair). */
export async function confirmedDiffs(db: Executor, runId: number, afterKeyText: string | null, limit: number): Promise<DiffRow[]> {
  return diffPage(db, runId, ['confirmed', 'suspect'], afterKeyText, limit);
}

export async function finishRun(db: Executor, runId: number, owner: string, report: ReconcileReport): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE strangler_reconcile_runs SET status = 'finished', finished_at = $3::timestamptz, report = $4::jsonb, heartbeat_at = now()
      WHERE run_id = $1 AND owner = $2 AND status = 'running'`,
    [runId, owner, report.finishedAt, JSON.stringify(report)],
  );
  return rowCount > 0;
}

export async function failRun(db: Executor, runId: number, owner: string, error: string): Promise<void> {
  await db.query(
    `UPDATE strangler_reconcile_runs SET status = 'failed', finished_at = now(), error = $3 WHERE run_id = $1 AND owner = $2 AND status = 'running'`,
    [runId, owner, error],
  );
}

export interface RunSummary {
  runId: number;
  entity: string;
  status: RunRow['status'];
  trigger: string;
  startedAt: string;
  finishedAt: string | null;
  error: string | null;
  report: ReconcileReport | null;
  /** How far a run has got; heartbeatAgeMs tells a live run from one whose owner stopped. */
  progress: { chunks: number; legacyRows: number; heartbeatAgeMs: number | null };
}

const SUMMARY = `${IDENTITY}, ${iso('finished_at')}, error, report, chunks, legacy_rows,
  (extract(epoch FROM now() - heartbeat_at) * 1000)::bigint AS heartbeat_age_ms`;
function toSummary(r: Record<string, unknown>): RunSummary {
  return {
    ...identity(r),
    finishedAt: r.finished_at === null ? null : String(r.finished_at),
    error: r.error === null ? null : String(r.error),
    report: r.report === null ? null : json<ReconcileReport>(r.report),
    progress: {
      chunks: Number(r.chunks),
      legacyRows: Number(r.legacy_rows),
      heartbeatAgeMs: r.heartbeat_age_ms === null ? null : Number(r.heartbeat_age_ms),
    },
  };
}

export async function listRuns(db: Executor, opts: { entity?: string; limit?: number } = {}): Promise<RunSummary[]> {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT ${SUMMARY} FROM strangler_reconcile_runs WHERE ($1::text IS NULL OR entity = $1) ORDER BY run_id DESC LIMIT $2`,
    [opts.entity ?? null, opts.limit ?? 50],
  );
  return rows.map(toSummary);
}

export async function getRun(db: Executor, runId: number): Promise<RunSummary | null> {
  const { rows } = await db.query<Record<string, unknown>>(`SELECT ${SUMMARY} FROM strangler_reconcile_runs WHERE run_id = $1`, [runId]);
  return rows[0] ? toSummary(rows[0]) : null;
}

/** The last finished run of an entity before `runId` (the trend's baseline). */
export async function previousFinished(db: Executor, entity: string, beforeRunId: number): Promise<RunSummary | null> {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT ${SUMMARY} FROM strangler_reconcile_runs WHERE entity = $1 AND status = 'finished' AND run_id < $2 ORDER BY run_id DESC LIMIT 1`,
    [entity, beforeRunId],
  );
  return rows[0] ? toSummary(rows[0]) : null;
}
