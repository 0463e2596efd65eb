import type { Executor } from '../../db/executor.ts';
import type { CheckOutput } from './duplicateEventIds.ts';

/**
 * Global positions must be unique (the primary key while it stands; checked on the data).
 * Positions need not be dense: see checkStreamVersions.
 */
export async function checkGlobalPositions(db: Executor, opts: { limit: number }): Promise<CheckOutput> {
  const { rows } = await db.query<{ global_position: string; copies: string; events: string; total: string }>(
    `WITH dup AS (
       SELECT global_position FROM strangler_events GROUP BY global_position HAVING count(*) > 1
     ), total AS (
       SELECT count(*) AS total FROM dup
     ), examples AS (
       SELECT global_position FROM dup ORDER BY global_position LIMIT $1
     )
     SELECT x.global_position, count(*) AS copies,
            string_agg(e.stream_id || '@' || e.stream_version || ' ' || e.event_id::text, ', ' ORDER BY e.stream_id, e.stream_version) AS events,
            t.total
       FROM examples x JOIN strangler_events e ON e.global_position = x.global_position CROSS JOIN total t
      GROUP BY x.global_position, t.total
      ORDER BY x.global_position`,
    [opts.limit],
  );
  return {
    total: Number(rows[0]?.total ?? 0),
    findings: rows.map((r) => ({
      check: 'global_positions',
      kind: 'position_duplicate',
      severity: 'critical',
      message: `global position ${r.global_position} is held by ${r.copies} events: ${r.events}`,
      details: { position: Number(r.global_position), copies: Number(r.copies), events: r.events },
    })),
  };
}
