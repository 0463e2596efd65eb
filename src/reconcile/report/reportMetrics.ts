import type { Metrics } from '../../metrics/metrics.ts';
import type { ReconcileReport, Verdict } from './types.ts';

const VERDICTS: readonly Verdict[] = ['within_tolerance', 'over_tolerance', 'inconclusive'];

/** Exports a finished report: the guard's state-mismatch gate reads the rate from here later. */
export function recordReportMetrics(metrics: Metrics, r: ReconcileReport): void {
  const e = r.entity;
  metrics.reconcileMismatchRate.set({ entity: e }, r.mismatchRate);
  const rows: Record<string, number> = {
    legacy: r.legacyRows,
    read_model: r.readModelRows,
    matched: r.matched,
    missing: r.missingInProjection,
    extra: r.extraInProjection,
    differing: r.differing,
    pending: r.pending,
  };
  for (const [kind, n] of Object.entries(rows)) metrics.reconcileRows.set({ entity: e, kind }, n);
  for (const v of VERDICTS) metrics.reconcileVerdict.set({ entity: e, verdict: v }, r.verdict === v ? 1 : 0);
  metrics.reconcileDuration.observe({ entity: e }, r.durationMs / 1000);
  metrics.reconcileLastSuccess.set({ entity: e }, Date.parse(r.finishedAt) / 1000);
}
