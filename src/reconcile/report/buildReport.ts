import { createHash } from 'node:crypto';
import type { ReconciliationConfig } from '../../config/schema.ts';
import type { Executor } from '../../db/executor.ts';
import { ENCODING_VERSION, MOD64 } from '../encoding/rowEncoding.ts';
import type { EntityPlan } from '../engine/entityPlan.ts';
import { feedingProjection } from '../engine/projectionHealth.ts';
import { confirmedDiffs, countDiffs, previousFinished, type SkippedChunk } from '../store/runs.ts';
import type { ReconcileReport } from './types.ts';

export interface ReportOptions {
  plan: EntityPlan;
  store: Executor;
  settings: Pick<ReconciliationConfig, 'maxSamples' | 'toleranceDriftPercent' | 'maxPendingLagMs'>;
  prefilterStatus?: { enabled: boolean; reason: string };
}

const withNote = (status: { enabled: boolean; reason: string }, note: string | null) =>
  note ? { ...status, reason: `${status.reason}; ${note}` } : status;

const tableDigest = (rows: number, sum: bigint) =>
  createHash('sha256')
    .update(`${rows}:${(sum % MOD64).toString()}`)
    .digest('hex');

/** The finished run's report, from its row, its differences and the previous run. */
export async function buildReport(
  opts: ReportOptions,
  runId: number,
  resumed: boolean,
  wallStart: number,
  prefilterNote: string | null,
): Promise<ReconcileReport> {
  const { plan, store, settings } = opts;
  const { rows } = await store.query<Record<string, unknown>>(
    `SELECT trigger, to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS started_at, chunks, chunk_size, legacy_rows, read_model_rows, matched, legacy_sum::text AS ls, read_model_sum::text AS rs,
            prefiltered_chunks, skipped_chunks, active_ms FROM strangler_reconcile_runs WHERE run_id = $1`,
    [runId],
  );
  const r = rows[0]!;
  const counts = await countDiffs(store, runId);
  const legacyRows = Number(r.legacy_rows);
  const readModelRows = Number(r.read_model_rows);
  const mismatches = counts.missing + counts.extra + counts.differing;
  const denominator = Math.max(legacyRows, readModelRows);
  const mismatchRate = denominator === 0 ? 0 : mismatches / denominator;
  const tolerance = settings.toleranceDriftPercent / 100;
  const samples = (await confirmedDiffs(store, runId, null, settings.maxSamples)).map(({ keyText: _keyText, ...sample }) => sample);
  const prev = await previousFinished(store, plan.entity, runId);
  const finishedAt = new Date().toISOString();
  const startedAt = new Date(String(r.started_at)).toISOString();
  // A resumed run's wall time counts from its first start; rows/s from the time spent reading.
  const durationMs = resumed ? Date.parse(finishedAt) - Date.parse(startedAt) : Date.now() - wallStart;
  const activeMs = Number(r.active_ms);
  const feeding = await feedingProjection(store, plan.projection, settings.maxPendingLagMs);
  return {
    runId,
    entity: plan.entity,
    trigger: String(r.trigger),
    configHash: plan.configHash,
    encodingVersion: ENCODING_VERSION,
    legacyTable: plan.legacyTable,
    readModelTable: plan.readModelTable,
    projection: plan.projection,
    columns: plan.columns.map((c) => ({ legacy: c.legacy, readModel: c.readModel, kind: c.kind })),
    startedAt,
    finishedAt,
    durationMs,
    readMs: activeMs,
    rowsPerSecond: activeMs > 0 ? Math.round((legacyRows / activeMs) * 1000) : legacyRows,
    legacyRows,
    readModelRows,
    matched: Number(r.matched) + counts.resolved,
    missingInProjection: counts.missing,
    extraInProjection: counts.extra,
    differing: counts.differing,
    differingColumns: counts.columns,
    pending: counts.pending,
    resolvedOnRecheck: counts.resolved,
    chunks: Number(r.chunks),
    prefilteredChunks: Number(r.prefiltered_chunks),
    prefilter: withNote(opts.prefilterStatus ?? { enabled: false, reason: 'not requested' }, prefilterNote),
    skippedChunks: (typeof r.skipped_chunks === 'string' ? JSON.parse(r.skipped_chunks) : r.skipped_chunks) as SkippedChunk[],
    mismatchRate,
    tolerance,
    verdict: feeding.inconclusive ? 'inconclusive' : mismatchRate <= tolerance ? 'within_tolerance' : 'over_tolerance',
    verdictReason: feeding.inconclusive,
    feedingProjection: feeding.projection,
    tableSha256: { legacy: tableDigest(legacyRows, BigInt(String(r.ls))), readModel: tableDigest(readModelRows, BigInt(String(r.rs))) },
    samples,
    trend: prev?.report
      ? { previousRunId: prev.runId, previousMismatchRate: prev.report.mismatchRate, change: mismatchRate - prev.report.mismatchRate }
      : null,
    resumed,
  };
}
