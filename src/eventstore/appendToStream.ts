import { randomUUID } from 'node:crypto';
import { uuidv7 } from './uuidv7.ts';
import type { Executor } from '../db/executor.ts';
import { PgState, sqlState } from '../db/executor.ts';
import { StranglerError } from '../errors/StranglerError.ts';
import { appendStatement, type AppendEvent } from './appendSql.ts';
import { ConcurrencyError, IdempotencyConflictError } from './errors.ts';
import type { AppendResult, ExpectedState, NewEvent } from './types.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const EXPECTED = new Set(['any', 'no_stream', 'stream_exists']);

export interface Row {
  event_id: string;
  stream_version: string;
  global_position: string;
}

function checkExpected(expected: ExpectedState): void {
  if (typeof expected === 'number' ? !Number.isSafeInteger(expected) || expected < 0 : !EXPECTED.has(expected)) {
    throw new StranglerError(
      'bad_expected_version',
      `Expected state must be 'any', 'no_stream', 'stream_exists' or a version >= 0, got ${JSON.stringify(expected)}. Example: 3`,
      { status: 400 },
    );
  }
}

function toResult(streamId: string, ids: string[], rows: Row[], replayed: boolean): AppendResult {
  const byId = new Map(rows.map((r) => [r.event_id, r]));
  const events = ids.map((id) => {
    const r = byId.get(id)!;
    return { id, version: Number(r.stream_version), position: Number(r.global_position) };
  });
  return { streamId, events, nextExpectedVersion: Math.max(...events.map((e) => e.version)), replayed };
}

/** An append checked and ready to send: its ids are lower-cased, one per event. */
export interface PreparedAppend {
  streamId: string;
  expected: ExpectedState;
  ids: string[];
  batch: AppendEvent[];
}

/** Checks an append before it touches the store (bad input is a 400, never a half-stored batch). */
export function prepareAppend(streamId: string, events: readonly NewEvent[], opts: { expected?: ExpectedState } = {}): PreparedAppend {
  if (events.length === 0) throw new StranglerError('empty_append', 'Nothing to append: pass at least one event.', { status: 400 });
  const expected = opts.expected ?? 'any';
  checkExpected(expected);
  const ids = events.map((e) => {
    const id = e.id ?? uuidv7();
    if (!UUID.test(id))
      throw new StranglerError('bad_event_id', `Event ids are UUIDs, got "${id}". Example: ${randomUUID()}`, { status: 400 });
    if (typeof e.type !== 'string' || e.type === '')
      throw new StranglerError('bad_event_type', `Every event needs a type, got ${JSON.stringify(e.type)}. Example: OrderCreated`, {
        status: 400,
      });
    return id.toLowerCase();
  });
  if (new Set(ids).size !== ids.length)
    throw new StranglerError(
      'duplicate_event_id',
      `The batch for ${streamId} carries the same event id twice; every event needs its own id.`,
      { status: 400 },
    );
  const batch = events.map((e, i) => ({ id: ids[i]!, type: e.type, data: e.data ?? null, metadata: e.metadata ?? {} }));
  return { streamId, expected, ids, batch };
}

/**
 * Appends a batch to one stream atomically with an expected state (see appendSql.ts).
 * Strictly idempotent by event id: a batch whose ids are all stored returns the original
 * result and stores nothing; a batch whose ids are partly stored is an error.
 */
export async function appendToStream(
  db: Executor,
  streamId: string,
  events: readonly NewEvent[],
  opts: { expected?: ExpectedState } = {},
): Promise<AppendResult> {
  return appendPrepared(db, prepareAppend(streamId, events, opts));
}

/** One append, one statement. */
export async function appendPrepared(db: Executor, p: PreparedAppend): Promise<AppendResult> {
  const { sql, params, name } = appendStatement(p.streamId, p.expected, p.batch);
  let rows: Row[] = [];
  try {
    // Inside a caller's transaction a failed statement would abort it: keep the failure local.
    ({ rows } = db.inTransaction
      ? await db.transaction((sp) => sp.query<Row>(sql, params, { name }))
      : await db.query<Row>(sql, params, { name }));
  } catch (err) {
    if (!isDuplicateEventId(err)) throw err;
  }
  return settleAppend(db, p, rows);
}

/** A unique violation on the event id: some id of the statement is stored already. */
function isDuplicateEventId(err: unknown): boolean {
  return sqlState(err) === PgState.uniqueViolation && (err as { constraint?: string }).constraint === 'strangler_events_event_id_key';
}

/**
 * The result of an append from the rows its statement inserted: all of them is success;
 * none means the expected state did not hold or an id was stored, which diagnose() tells apart.
 */
export async function settleAppend(db: Executor, p: PreparedAppend, rows: Row[]): Promise<AppendResult> {
  if (rows.length === p.ids.length) return toResult(p.streamId, p.ids, rows, false);
  if (rows.length !== 0)
    throw new StranglerError('append_partial', `Append to ${p.streamId} stored ${rows.length} of ${p.ids.length} events; this is a bug.`);
  return diagnose(db, p.streamId, p.expected, p.ids);
}

/** Why an append stored nothing: a replay of a stored batch, a partial overlap, or the wrong expected state. */
async function diagnose(db: Executor, streamId: string, expected: ExpectedState, ids: string[]): Promise<AppendResult> {
  const { rows } = await db.query<Row>(
    'SELECT event_id::text AS event_id, stream_version, global_position FROM strangler_events WHERE event_id = ANY($1::uuid[])',
    [ids],
  );
  const stored = new Set(rows.map((r) => r.event_id)).size;
  if (stored === ids.length) return toResult(streamId, ids, rows, true);
  if (stored > 0) throw new IdempotencyConflictError(streamId, stored, ids.length);
  const v = await db.query<{ version: string }>('SELECT version FROM strangler_streams WHERE stream_id = $1', [streamId]);
  const actual = v.rows[0] ? Number(v.rows[0].version) : null;
  throw new ConcurrencyError(streamId, expected, actual);
}
