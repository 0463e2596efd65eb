import type { Executor } from '../../db/executor.ts';
import type { Finding } from '../types.ts';
import type { CheckOutput } from './duplicateEventIds.ts';

interface Row {
  kind: 'version_gap' | 'version_duplicate' | 'ordering';
  stream_id: string;
  stream_version: string;
  global_position: string;
  event_id: string;
  prev_version: string | null;
  prev_position: string | null;
  total: string;
}

/**
 * Versions of every stream must be exactly 1..N, and within a stream version order must
 * agree with global position order (an append holds the stream's row lock, so version
 * n+1 is always inserted after version n). One pass: each event next to its predecessor
 * in (stream_id, stream_version) order — the order of the (stream_id, stream_version)
 * unique index, so no sort while it stands — then examples per kind with totals.
 *
 * Ordering is judged against the first copy of the previous version only: behind a
 * duplicated version the copy's later position is the duplicate's fault, reported once.
 *
 * Gaps in global_position are NOT anomalies: an identity value is consumed by a rolled
 * back append, so positions are unique and increasing but never dense.
 */
export async function checkStreamVersions(db: Executor, opts: { limit: number }): Promise<CheckOutput> {
  const { rows } = await db.query<Row>(
    `WITH w AS (
       SELECT stream_id, stream_version, global_position, event_id,
              lag(stream_version)  OVER s AS prev_version,
              lag(stream_version, 2) OVER s AS prev2_version,
              lag(global_position) OVER s AS prev_position
         FROM strangler_events
       WINDOW s AS (PARTITION BY stream_id ORDER BY stream_version, global_position)
     ), suspects AS (
       SELECT * FROM w
        WHERE (prev_version IS NULL AND stream_version <> 1)
           OR stream_version > prev_version + 1
           OR stream_version = prev_version
           OR (stream_version > prev_version AND global_position < prev_position AND prev2_version IS DISTINCT FROM prev_version)
     ), anomalies AS (
       SELECT k.kind, s.stream_id, s.stream_version, s.global_position, s.event_id, s.prev_version, s.prev_position FROM suspects s
        CROSS JOIN LATERAL (VALUES
          (CASE WHEN (s.prev_version IS NULL AND s.stream_version <> 1) OR s.stream_version > s.prev_version + 1 THEN 'version_gap' END),
          (CASE WHEN s.stream_version = s.prev_version THEN 'version_duplicate' END),
          (CASE WHEN s.stream_version > s.prev_version AND s.global_position < s.prev_position
                 AND s.prev2_version IS DISTINCT FROM s.prev_version THEN 'ordering' END)
        ) AS k(kind)
        WHERE k.kind IS NOT NULL
     ), ranked AS (
       SELECT *, count(*) OVER (PARTITION BY kind) AS total,
              row_number() OVER (PARTITION BY kind ORDER BY stream_id, stream_version, global_position) AS rn
         FROM anomalies
     )
     SELECT kind, stream_id, stream_version, global_position, event_id::text AS event_id, prev_version, prev_position, total
       FROM ranked WHERE rn <= $1
      ORDER BY kind, rn`,
    [opts.limit],
  );
  const totals = new Map<string, number>();
  for (const r of rows) totals.set(r.kind, Number(r.total));
  return {
    total: [...totals.values()].reduce((a, b) => a + b, 0),
    findings: rows.map((r) => toFinding(r)),
  };
}

function toFinding(r: Row): Finding {
  const version = Number(r.stream_version);
  const prev = r.prev_version === null ? null : Number(r.prev_version);
  const base = {
    streamId: r.stream_id,
    version,
    position: Number(r.global_position),
    eventId: r.event_id,
    previousVersion: prev,
    kindTotal: Number(r.total),
  };
  switch (r.kind) {
    case 'version_gap': {
      const from = (prev ?? 0) + 1;
      const to = version - 1;
      const missing = to < from ? 'none' : from === to ? `${from}` : `${from}..${to}`;
      return {
        check: 'stream_versions',
        kind: r.kind,
        severity: 'critical',
        message:
          prev === null
            ? `${r.stream_id} starts at version ${version}, not 1 (missing ${missing})`
            : `${r.stream_id} jumps from version ${prev} to ${version} (missing ${missing})`,
        details: { ...base, missing },
      };
    }
    case 'version_duplicate':
      return {
        check: 'stream_versions',
        kind: r.kind,
        severity: 'critical',
        message: `${r.stream_id} has version ${version} more than once (positions ${r.prev_position} and ${r.global_position})`,
        details: { ...base, otherPosition: Number(r.prev_position) },
      };
    case 'ordering':
      return {
        check: 'stream_versions',
        kind: r.kind,
        severity: 'critical',
        message: `${r.stream_id} version ${version} is at position ${r.global_position}, before version ${prev} at position ${r.prev_position}`,
        details: { ...base, previousPosition: Number(r.prev_position) },
      };
  }
}
