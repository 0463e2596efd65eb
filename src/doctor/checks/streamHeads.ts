import type { Executor } from '../../db/executor.ts';
import type { CheckOutput } from './duplicateEventIds.ts';

/**
 * strangler_streams.version must equal the stream's highest event version: appends take
 * the next version from it, so a head ahead of the events leaves a gap at the next append
 * and a head behind them makes the next append collide. Also catches events without a
 * streams row and rows without events. One GROUP BY over the (stream_id, stream_version)
 * index and a hash join with the streams table.
 */
export async function checkStreamHeads(db: Executor, opts: { limit: number }): Promise<CheckOutput> {
  const { rows } = await db.query<{
    stream_id: string;
    max_version: string | null;
    events: string | null;
    head: string | null;
    total: string;
  }>(
    `WITH e AS (
       SELECT stream_id, max(stream_version) AS max_version, count(*) AS events FROM strangler_events GROUP BY stream_id
     )
     SELECT coalesce(e.stream_id, s.stream_id) AS stream_id, e.max_version, e.events, s.version AS head, count(*) OVER () AS total
       FROM e FULL JOIN strangler_streams s ON s.stream_id = e.stream_id
      WHERE s.version IS DISTINCT FROM e.max_version
      ORDER BY 1
      LIMIT $1`,
    [opts.limit],
  );
  return {
    total: Number(rows[0]?.total ?? 0),
    findings: rows.map((r) => {
      const details = {
        streamId: r.stream_id,
        lastEventVersion: r.max_version === null ? null : Number(r.max_version),
        events: Number(r.events ?? 0),
        streamsRowVersion: r.head === null ? null : Number(r.head),
      };
      const message =
        r.head === null
          ? `${r.stream_id} has ${r.events} event(s) but no strangler_streams row`
          : r.max_version === null
            ? `${r.stream_id} has a strangler_streams row at version ${r.head} but no events`
            : `${r.stream_id}: strangler_streams says version ${r.head}, its last event is version ${r.max_version}`;
      return { check: 'stream_heads', kind: 'stream_head_mismatch', severity: 'critical', message, details };
    }),
  };
}
