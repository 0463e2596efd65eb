import type { Executor } from '../db/executor.ts';
import { storeEpoch } from '../eventstore/epoch.ts';
import { checkDuplicateEventIds, type CheckOutput } from './checks/duplicateEventIds.ts';
import { checkGlobalPositions } from './checks/globalPositions.ts';
import { checkProjections } from './checks/projections.ts';
import { checkStreamHeads } from './checks/streamHeads.ts';
import { checkStreamVersions } from './checks/streamVersions.ts';
import { checkVisibility } from './checks/visibility.ts';
import {
  atLeast,
  severityRank,
  type CheckName,
  type CheckResult,
  type DoctorReport,
  type ProjectionHealth,
  type Severity,
} from './types.ts';

export interface DoctorOptions {
  /** Examples kept per kind of finding (totals are always exact). Default 20. */
  limit?: number;
  /** Unhealthy when a finding is at or above this. Default 'high': low/medium lag is normal operation. */
  failOn?: Severity;
  /** The clock, for lag in milliseconds. */
  now?: () => Date;
}

/**
 * Every consistency check against one snapshot of the store: the checks run in a single
 * REPEATABLE READ, READ ONLY transaction, so an append landing mid-run cannot show up as
 * a version mismatch between two checks. Nothing is written.
 */
export async function runDoctor(db: Executor, opts: DoctorOptions = {}): Promise<DoctorReport> {
  const limit = opts.limit ?? 20;
  const failOn = opts.failOn ?? 'high';
  const now = opts.now ?? (() => new Date());
  const started = performance.now();
  const checkedAt = now();

  return db.transaction(async (tx) => {
    await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    const checks: CheckResult[] = [];
    const timed = async <T extends CheckOutput>(name: CheckName, fn: () => Promise<T>): Promise<T> => {
      const t0 = performance.now();
      const out = await fn();
      checks.push({ name, durationMs: round(performance.now() - t0), total: out.total, findings: out.findings });
      return out;
    };

    const { rows } = await tx.query<{ events: string; streams: string; head: string | null }>(
      `SELECT (SELECT count(*) FROM strangler_events) AS events,
              (SELECT count(*) FROM strangler_streams) AS streams,
              (SELECT max(global_position) FROM strangler_events) AS head`,
    );
    await timed('duplicate_event_ids', () => checkDuplicateEventIds(tx, { limit }));
    await timed('stream_versions', () => checkStreamVersions(tx, { limit }));
    await timed('stream_heads', () => checkStreamHeads(tx, { limit }));
    await timed('global_positions', () => checkGlobalPositions(tx, { limit }));
    const epoch = await storeEpoch(tx);
    let projections: ProjectionHealth[] = [];
    await timed('projections', async () => {
      const out = await checkProjections(tx, { now: checkedAt, epoch });
      projections = out.projections;
      return out;
    });
    const visibility = await timed('visibility', () => checkVisibility(tx));

    const findings = checks.flatMap((c) => c.findings).sort((a, b) => severityRank(b.severity) - severityRank(a.severity));
    const r = rows[0];
    return {
      healthy: !findings.some((f) => atLeast(f.severity, failOn)),
      failOn,
      checkedAt: checkedAt.toISOString(),
      durationMs: round(performance.now() - started),
      store: {
        events: Number(r?.events ?? 0),
        streams: Number(r?.streams ?? 0),
        headPosition: Number(r?.head ?? 0),
        invisibleCommitted: visibility.invisible,
      },
      projections,
      checks,
      findings,
    };
  });
}

const round = (ms: number) => Math.round(ms * 10) / 10;
