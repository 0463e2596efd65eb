import type { ExpectedState } from './types.ts';

/**
 * The append is ONE statement: claim the stream row (the one lock an append takes) and
 * insert the batch. Appends to one stream serialise on that row; a wrong expected state
 * makes the stream step return no row, so no event is inserted; a stored event id makes
 * the insert fail on its unique key, rolling the stream step back with it. Both rare
 * outcomes are then explained by the caller's diagnosis (replay, idempotency conflict or
 * concurrency). Statements are prepared by name: planning one costs more than running it.
 *
 * Parameters: $1 stream id, $2 batch size, then the events (batch: $3 = JSON array of
 * {id, type, data, metadata}; one event: $3 id, $4 type, $5 data, $6 metadata), and last,
 * for the exact-version form only, the expected version (EXPECTED below).
 */
const INSERT_BATCH = `
INSERT INTO strangler_events (stream_id, stream_version, event_id, event_type, data, metadata)
SELECT $1, s.base + u.ord, (u.e->>'id')::uuid, u.e->>'type', u.e->'data', u.e->'metadata'
FROM s, jsonb_array_elements($3::jsonb) WITH ORDINALITY AS u(e, ord)
ORDER BY u.ord
RETURNING event_id, stream_version, global_position`;

// The common case (one command, one event) skips building and unpacking a JSON array.
const INSERT_ONE = `
INSERT INTO strangler_events (stream_id, stream_version, event_id, event_type, data, metadata)
SELECT $1, s.base + 1, $3::uuid, $4::text, $5::jsonb, $6::jsonb FROM s
RETURNING event_id, stream_version, global_position`;

const STREAM_STEP = {
  // Creates the stream or moves it on, whatever its version.
  any: `INSERT INTO strangler_streams AS t (stream_id, version) VALUES ($1, $2::bigint)
        ON CONFLICT (stream_id) DO UPDATE SET version = t.version + $2::bigint, updated_at = now()
        RETURNING t.version - $2::bigint AS base`,
  // Only a new stream: an existing one returns no row (a concurrent creator is waited for).
  no_stream: `INSERT INTO strangler_streams (stream_id, version) VALUES ($1, $2::bigint)
        ON CONFLICT (stream_id) DO NOTHING
        RETURNING 0::bigint AS base`,
  stream_exists: `UPDATE strangler_streams SET version = version + $2::bigint, updated_at = now()
        WHERE stream_id = $1 RETURNING version - $2::bigint AS base`,
  exact: `UPDATE strangler_streams SET version = version + $2::bigint, updated_at = now()
        WHERE stream_id = $1 AND version = EXPECTED::bigint RETURNING version - $2::bigint AS base`,
} as const;

type Step = keyof typeof STREAM_STEP;

export interface AppendEvent {
  id: string;
  type: string;
  data: unknown;
  metadata: Record<string, unknown>;
}

const cache = new Map<string, string>();

function statementFor(step: Step, one: boolean): string {
  const key = `${step}_${one ? 'one' : 'batch'}`;
  let sql = cache.get(key);
  if (!sql) {
    sql = `WITH s AS (${STREAM_STEP[step].replace('EXPECTED', one ? '$7' : '$4')}) ${one ? INSERT_ONE : INSERT_BATCH}`;
    cache.set(key, sql);
  }
  return sql;
}

/** The prepared statement and parameters for an append with this expected state. */
export function appendStatement(
  streamId: string,
  expected: ExpectedState,
  events: readonly AppendEvent[],
): { sql: string; params: unknown[]; name: string } {
  // Exact version 0 means "no stream yet" (versions start at 1).
  const step: Step = typeof expected === 'number' ? (expected === 0 ? 'no_stream' : 'exact') : expected;
  const one = events.length === 1 ? events[0]! : null;
  const params: unknown[] = one
    ? [streamId, 1, one.id, one.type, JSON.stringify(one.data ?? null), JSON.stringify(one.metadata)]
    : [streamId, events.length, JSON.stringify(events)];
  if (step === 'exact') params.push(expected);
  return { sql: statementFor(step, one !== null), params, name: `strangler_append_${step}_${one ? 'one' : 'batch'}` };
}
