import type { Executor } from '../../db/executor.ts';
import type { Finding } from '../types.ts';

export interface CheckOutput {
  total: number;
  findings: Finding[];
}

/**
 * Event ids stored more than once. The unique constraint makes this impossible while it
 * stands; the doctor checks the data, not the schema (a constraint dropped and re-added
 * NOT VALID, a restore without constraints). A bare count per event_id finds the
 * duplicates (no per-group text built for the 100k ids that are fine: that alone took
 * 0.2–0.5 s per 100k events); details are gathered for the first `limit` only.
 */
export async function checkDuplicateEventIds(db: Executor, opts: { limit: number }): Promise<CheckOutput> {
  const { rows } = await db.query<{ event_id: string; copies: string; occurrences: string; total: string }>(
    `WITH dup AS (
       SELECT event_id FROM strangler_events GROUP BY event_id HAVING count(*) > 1
     ), total AS (
       SELECT count(*) AS total FROM dup
     ), examples AS (
       SELECT event_id FROM dup ORDER BY event_id LIMIT $1
     )
     SELECT x.event_id::text AS event_id, count(*) AS copies,
            string_agg(e.stream_id || '@' || e.stream_version || ' (position ' || e.global_position || ')', ', ' ORDER BY e.global_position) AS occurrences,
            t.total
       FROM examples x JOIN strangler_events e ON e.event_id = x.event_id CROSS JOIN total t
      GROUP BY x.event_id, t.total
      ORDER BY min(e.global_position)`,
    [opts.limit],
  );
  return {
    total: Number(rows[0]?.total ?? 0),
    findings: rows.map((r) => ({
      check: 'duplicate_event_ids',
      kind: 'duplicate_event_id',
      severity: 'critical',
      message: `event id ${r.event_id} is stored ${r.copies} times: ${r.occurrences}`,
      details: { eventId: r.event_id, copies: Number(r.copies), occurrences: r.occurrences },
    })),
  };
}
