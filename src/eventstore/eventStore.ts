import type { Executor } from '../db/executor.ts';
import { connect } from '../db/connect.ts';
import { connectionFailure } from '../db/connectionErrors.ts';
import { redactUrl } from '../config/redactUrl.ts';
import { migrate } from '../db/migrate.ts';
import { prepareAppend } from './appendToStream.ts';
import { createAppendGroups, DEFAULT_APPEND_GROUPS, type AppendGroupOptions, type AppendGroupStats } from './appendGroups.ts';
import { storeEpoch } from './epoch.ts';
import { APPENDED_CHANNEL } from './appendSignal.ts';
import {
  checkpointAt,
  countAfter,
  headPosition,
  invisibleCommittedCount,
  readAll,
  type ReadAllOptions,
  type ReadAllResult,
} from './readAll.ts';
import { readStream, streamHead, streamVersion } from './readStream.ts';
import type { AppendResult, Checkpoint, ExpectedState, NewEvent, RecordedEvent } from './types.ts';

/**
 * The event store as the rest of the sidecar sees it. Nothing outside src/eventstore/
 * knows the event table: this interface is the seam for another store later.
 */
export interface EventStore {
  /** `postgres` or `embedded`, with the URL safe to log. */
  readonly description: string;
  /** The executor the store lives on (projections commit read model + checkpoint on it). */
  readonly db: Executor;
  /** Concurrent appends may share a statement and a commit (appendGroups.ts); each keeps its own outcome. */
  append(streamId: string, events: readonly NewEvent[], opts?: { expected?: ExpectedState }): Promise<AppendResult>;
  /** How appends were grouped since the store opened. */
  appendStats(): AppendGroupStats;
  readStream(streamId: string, opts?: { fromVersion?: number; maxCount?: number }): Promise<RecordedEvent[]>;
  /** The next window of the global log; `streamPrefixes` returns only those streams' events (readAll.ts). */
  readAll(opts: ReadAllOptions): Promise<ReadAllResult>;
  streamVersion(streamId: string): Promise<number | null>;
  /** The checkpoint of the stream's latest event, or null when it has none (compare with a reader's checkpoint). */
  streamHead(streamId: string): Promise<Checkpoint | null>;
  headPosition(): Promise<number>;
  invisibleCommittedCount(): Promise<number>;
  /** Events ordered after a checkpoint, visible or not yet (a reader's lag in events). */
  countAfter(after: Checkpoint): Promise<number>;
  /** The checkpoint of the event at a position in this cluster (re-basing after an epoch change). */
  checkpointAt(position: number): Promise<Checkpoint | null>;
  epoch(): Promise<string>;
  /** Sends the append wake-up (NOTIFY); see appendSignal.ts for who calls it and how often. */
  signalAppended(): Promise<void>;
  /**
   * Subscribes to append wake-ups where the backend can LISTEN; resolves to an unsubscribe.
   * `delivered` is false for the one after each (re)connect (Executor.listen).
   */
  onAppended?(onAppended: (delivered: boolean) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export function createEventStore(
  db: Executor,
  description: string = db.dialect,
  opts: { appendGroups?: AppendGroupOptions } = {},
): EventStore {
  // A caller's transaction runs its statements one after another: nothing to group there.
  const groups = createAppendGroups(
    db,
    db.inTransaction ? { ...DEFAULT_APPEND_GROUPS, maxInFlight: 0 } : (opts.appendGroups ?? DEFAULT_APPEND_GROUPS),
  );
  return {
    description,
    db,
    append: async (streamId, events, opts) => groups.append(prepareAppend(streamId, events, opts)),
    appendStats: () => groups.stats(),
    readStream: (streamId, opts) => readStream(db, streamId, opts),
    readAll: (opts) => readAll(db, opts),
    streamVersion: (streamId) => streamVersion(db, streamId),
    streamHead: (streamId) => streamHead(db, streamId),
    headPosition: () => headPosition(db),
    invisibleCommittedCount: () => invisibleCommittedCount(db),
    countAfter: (after) => countAfter(db, after),
    checkpointAt: (position) => checkpointAt(db, position),
    epoch: () => storeEpoch(db),
    signalAppended: async () => {
      await db.query(`SELECT pg_notify('${APPENDED_CHANNEL}', '')`);
    },
    ...(db.listen ? { onAppended: (fn: (delivered: boolean) => void) => db.listen!(APPENDED_CHANNEL, fn) } : {}),
    close: () => db.close(),
  };
}

export interface OpenEventStoreOptions {
  /** `embedded`, `embedded:DIR`, `memory` or `postgres://…`. */
  url: string;
  embeddedDir?: string;
  /** Apply pending migrations now (under the migration advisory lock). */
  migrate?: boolean;
  poolSize?: number;
  /**
   * An idle open transaction holds back what every global reader can see: end such
   * sessions after this long (PostgreSQL `idle_in_transaction_session_timeout`).
   */
  idleInTransactionTimeoutMs?: number;
  /** Grouping of concurrent appends; `{ maxInFlight: 0 }` sends every append alone. */
  appendGroups?: Partial<AppendGroupOptions>;
}

export async function openEventStore(opts: OpenEventStoreOptions): Promise<EventStore> {
  const db = await connect({
    url: opts.url,
    ...(opts.embeddedDir ? { embeddedDir: opts.embeddedDir } : {}),
    ...(opts.poolSize ? { max: opts.poolSize } : {}),
    settings: {
      idle_in_transaction_session_timeout: opts.idleInTransactionTimeoutMs ?? 10_000,
      TimeZone: 'UTC',
    },
    // No client-side query timeout here: it would arm a timer per query on the append hot
    // path. Dead connections are found by TCP keep-alive (pgExecutor), slow ones by the
    // callers' own deadlines (append timeout -> spool; runner and drainer retries).
  });
  try {
    if (opts.migrate) await migrate(db);
  } catch (err) {
    await db.close();
    // An unreachable server is one line for the operator, not a driver stack trace.
    throw (
      connectionFailure(
        err,
        'event store',
        opts.url,
        'Check that PostgreSQL runs there and the URL is right (--url, STRANGLER_EVENTSTORE_URL or eventStore.url).',
      ) ?? err
    );
  }
  const description = db.dialect === 'pglite' ? `embedded (${opts.url})` : `postgres (${redactUrl(opts.url)})`;
  return createEventStore(db, description, { appendGroups: { ...DEFAULT_APPEND_GROUPS, ...opts.appendGroups } });
}
