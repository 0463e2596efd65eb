import type { Executor } from '../db/executor.ts';
import { PgState, sqlState } from '../db/executor.ts';
import { appendPrepared, settleAppend, type PreparedAppend, type Row } from './appendToStream.ts';
import type { AppendResult } from './types.ts';

/**
 * Grouped appends (group commit). Each append is its own round trip and its own commit,
 * and on a busy store those fixed costs are most of an append's cost. So at most
 * `maxInFlight` statements are in flight; appends that arrive meanwhile wait, and the
 * next free slot takes all of them (up to `maxAppends`) as one statement in one
 * transaction (migrations/004_append_groups.sql). An idle store sends an append at once,
 * alone, as before: grouping adds no wait when there is nothing to share.
 *
 * Every append of a group keeps its own outcome. A wrong expected state fails that append
 * alone (a ConcurrencyError, after the same diagnosis as a single append). When the
 * group's statement fails on what one append carries (a stored event id from a retry,
 * data the server refuses) or on a deadlock, the group rolls back whole and its appends
 * are sent again one by one, so each ends as it would have alone. A failure of the
 * connection or the server (lost socket, timeout, shutdown) fails every append of the
 * group with that error, as it would have failed each of them: the outcome is unknown,
 * and callers retry with the same event ids, which makes a retry of a committed group a replay.
 *
 * A group is sorted by stream id, so groups lock stream rows in one order and cannot
 * deadlock each other.
 *
 * A statement in flight for longer than `stallMs` (a commit waiting on a slow disk, a row
 * lock held elsewhere, a connection that went silent) stops counting against
 * `maxInFlight`, so it holds back the appends behind it for that long at most. Without
 * this, appends queued behind a commit stalled on the disk would wait for that flush and
 * then for one of their own, where alone they would have joined the pending flush: a
 * 150 ms disk stall would become 300 ms and push them past the command path's
 * appendTimeoutMs into the spool.
 */
export interface AppendGroupOptions {
  /** Statements in flight at once (pool connections the appends use); 0 turns grouping off. */
  maxInFlight: number;
  /** Appends per group at most. */
  maxAppends: number;
  /** Appends with more events than this go alone (a large batch is one statement already). */
  maxEventsPerAppend: number;
  /** A statement in flight this long no longer holds a slot (see above). */
  stallMs?: number;
}

export const DEFAULT_APPEND_GROUPS: AppendGroupOptions = { maxInFlight: 2, maxAppends: 64, maxEventsPerAppend: 100 };
const DEFAULT_STALL_MS = 50;

export interface AppendGroupStats {
  /** Statements sent for grouped appends (groups of one included). */
  statements: number;
  /** Appends sent through those statements. */
  appends: number;
  /** Groups whose statement failed on a stored event id or a deadlock and were sent one by one. */
  fallbacks: number;
}

interface Waiting {
  p: PreparedAppend;
  resolve: (r: AppendResult) => void;
  reject: (err: unknown) => void;
}

const GROUP_SQL = 'SELECT append_no, event_id, stream_version, global_position FROM strangler_append_group($1::jsonb)';

/** One append as the group statement reads it: stream, kind of expected state, exact version, events. */
function appendJson(p: PreparedAppend): string {
  const exact = typeof p.expected === 'number';
  const kind = exact ? (p.expected === 0 ? 'no_stream' : 'exact') : p.expected;
  return JSON.stringify({ s: p.streamId, k: kind, x: exact ? p.expected : null, e: p.batch });
}

/**
 * Whether a failed group statement says something about one of its appends, so that sending
 * them one by one settles each (SQLSTATE classes 22 data, 23 integrity, 40 rollback, P0
 * raised by a trigger, and a missing group function), rather than about the connection or the server.
 */
function retryAlone(err: unknown): boolean {
  const state = sqlState(err);
  if (state === undefined) return false;
  return ['22', '23', '40', 'P0'].includes(state.slice(0, 2)) || state === PgState.undefinedFunction;
}

export function createAppendGroups(db: Executor, opts: AppendGroupOptions = DEFAULT_APPEND_GROUPS) {
  const queue: Waiting[] = [];
  const stallMs = opts.stallMs ?? DEFAULT_STALL_MS;
  /** Start times of the statements in flight. */
  const inFlight = new Set<{ started: number }>();
  let wake: NodeJS.Timeout | null = null;
  let unavailable = false;
  const stats: AppendGroupStats = { statements: 0, appends: 0, fallbacks: 0 };

  function pump(): void {
    const now = performance.now();
    let busy = 0;
    let oldest = Infinity;
    for (const f of inFlight) {
      if (now - f.started >= stallMs) continue;
      busy++;
      oldest = Math.min(oldest, f.started);
    }
    while (busy < opts.maxInFlight && queue.length > 0) {
      const group = queue.splice(0, opts.maxAppends);
      const flight = { started: now };
      inFlight.add(flight);
      busy++;
      oldest = Math.min(oldest, now);
      stats.statements++;
      stats.appends += group.length;
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        inFlight.delete(flight);
        pump();
      };
      void send(group, release).finally(release);
    }
    // Appends left waiting: look again when the oldest statement in flight counts as stalled.
    if (queue.length > 0 && wake === null) {
      wake = setTimeout(
        () => {
          wake = null;
          pump();
        },
        oldest + stallMs - now,
      );
      wake.unref();
    }
  }

  const settle = (w: Waiting, result: Promise<AppendResult>) => result.then(w.resolve, w.reject);

  /** Sends a group; release() frees its slot as soon as the statement is done, before callers resume. */
  async function send(queued: Waiting[], release: () => void): Promise<void> {
    const alone = async (w: Waiting) => {
      const result = appendPrepared(db, w.p);
      await result.then(release, release);
      return settle(w, result);
    };
    if (queued.length === 1) return alone(queued[0]!);
    // Each append's part of the group's JSON: data JSON cannot carry (a BigInt) fails that
    // append alone, not the group it would have joined.
    const parts = new Map<Waiting, string>();
    for (const w of queued) {
      try {
        parts.set(w, appendJson(w.p));
      } catch (err) {
        w.reject(err);
      }
    }
    const group = queued.filter((w) => parts.has(w));
    if (group.length <= 1) return group[0] ? alone(group[0]) : release();
    // Array.prototype.sort is stable: appends to one stream keep their arrival order.
    group.sort((a, b) => (a.p.streamId < b.p.streamId ? -1 : a.p.streamId > b.p.streamId ? 1 : 0));
    let rows: (Row & { append_no: number })[];
    try {
      ({ rows } = await db.query<Row & { append_no: number }>(GROUP_SQL, [`[${group.map((w) => parts.get(w)).join(',')}]`], {
        name: 'strangler_append_group',
      }));
    } catch (err) {
      release();
      if (!retryAlone(err)) {
        for (const w of group) w.reject(err);
        return;
      }
      // A store whose schema predates grouping (migration 004 not applied) appends one by one.
      if (sqlState(err) === PgState.undefinedFunction) unavailable = true;
      stats.fallbacks++;
      for (const w of group) await settle(w, appendPrepared(db, w.p));
      return;
    }
    release();
    const byAppend = group.map((): Row[] => []);
    // An append whose expected state did not hold has one row with no event (NULLs).
    for (const r of rows) if (r.event_id !== null) byAppend[r.append_no - 1]!.push(r);
    await Promise.all(group.map((w, i) => settle(w, settleAppend(db, w.p, byAppend[i]!))));
  }

  return {
    append(p: PreparedAppend): Promise<AppendResult> {
      if (unavailable || opts.maxInFlight <= 0 || p.batch.length > opts.maxEventsPerAppend) return appendPrepared(db, p);
      return new Promise<AppendResult>((resolve, reject) => {
        queue.push({ p, resolve, reject });
        pump();
      });
    },
    stats: (): AppendGroupStats => ({ ...stats }),
  };
}
