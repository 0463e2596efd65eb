import type { DoctorReport } from './types.ts';

export interface EventStoreHealth {
  ok: boolean;
  /** Age of the report in ms: probes get a cached one. */
  ageMs: number;
  report: DoctorReport;
}

/**
 * `/health/event-store` behind a cache. The checks scan the whole event table (about
 * 0.1–0.3 s per 100k events), so a probe every few seconds must not run them every time:
 * a report younger than `ttlMs` is served as is, and concurrent callers share one run. A
 * caller may accept an older report (`maxAgeMs`: the metrics scrape, which runs the checks
 * every few minutes at most).
 */
export function createEventStoreHealth(opts: {
  run: () => Promise<DoctorReport>;
  ttlMs?: number;
  now?: () => number;
}): (maxAgeMs?: number) => Promise<EventStoreHealth> {
  const ttlMs = opts.ttlMs ?? 30_000;
  const now = opts.now ?? Date.now;
  let last: { at: number; report: DoctorReport } | undefined;
  let inFlight: Promise<DoctorReport> | undefined;
  return async (maxAgeMs = ttlMs) => {
    if (!last || now() - last.at >= maxAgeMs) {
      inFlight ??= opts.run().finally(() => {
        inFlight = undefined;
      });
      const report = await inFlight;
      if (!last || last.report !== report) last = { at: now(), report };
    }
    return { ok: last.report.healthy, ageMs: now() - last.at, report: last.report };
  };
}
