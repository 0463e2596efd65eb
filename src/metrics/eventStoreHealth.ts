import type { DoctorReport } from '../doctor/types.ts';
import type { Metrics } from './metrics.ts';

/**
 * A scrape starts an event-store health check when the last finished one is older than this:
 * the checks scan the whole event table, and every replica is scraped.
 */
export const METRICS_HEALTH_MAX_AGE_MS = 5 * 60_000;

/** The doctor's checks that find consistency errors (the others report lag and visibility). */
export const CONSISTENCY_CHECKS = ['duplicate_event_ids', 'stream_versions', 'stream_heads', 'global_positions'] as const;

/**
 * Records one finished event-store health check (a doctor report) on the metrics: total
 * events, consistency errors by check (exact totals, 0 included), committed events still
 * invisible to global readers, and the check's duration. Returns the report unchanged.
 */
export function recordEventStoreHealth(metrics: Metrics, report: DoctorReport): DoctorReport {
  metrics.eventStoreEvents.set(report.store.events);
  metrics.invisibleEvents.set(report.store.invisibleCommitted);
  for (const check of CONSISTENCY_CHECKS)
    metrics.eventStoreConsistencyErrors.set({ check }, report.checks.find((c) => c.name === check)?.total ?? 0);
  metrics.eventStoreHealthCheckDuration.observe(report.durationMs / 1000);
  return report;
}
