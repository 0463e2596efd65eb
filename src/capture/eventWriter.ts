import type { Logger } from 'pino';
import { ConcurrencyError } from '../eventstore/errors.ts';
import type { EventStore } from '../eventstore/eventStore.ts';
import type { ExpectedState, NewEvent } from '../eventstore/types.ts';
import type { Metrics } from '../metrics/metrics.ts';

/** What the writer needs of the durable spool. */
export interface SpoolSink {
  write(entry: {
    streamId: string;
    expected: ExpectedState;
    events: (NewEvent & { id: string })[];
    entity?: string;
    spooledAt: string;
  }): Promise<void>;
}

export type WriteOutcome = 'appended' | 'replayed' | 'spooled';

export interface EventWriterOptions {
  store: EventStore;
  spool: SpoolSink;
  /** Longest the client's answer waits for the store before the events go to the spool. */
  appendTimeoutMs: number;
  maxRetries: number;
  retryBackoffMs: number;
  metrics?: Metrics;
  logger: Logger;
  /** Stream versions remembered for expected-version appends. */
  versionCacheSize?: number;
  /** Stream ids of the entries already in the spool at start-up (one per entry). */
  initiallyPending?: readonly string[];
  /** Called after events were appended (the projection wake-up, debounced by the caller). */
  onAppended?: () => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Appends a command's events with a bounded wait, and spools them when the store is slow
 * or down. Rules that keep order and lose nothing:
 * - a stream with entries in the spool appends behind them (the drainer keeps FIFO), so
 *   per stream the order is the command order; other streams go straight to the store,
 *   which lets the spool drain under steady traffic once the store is back;
 * - after a timeout or an error, every append goes to the spool (no client waits on a
 *   store that is down) until the drainer appends again: `drained()` says so;
 * - an append that timed out may still commit later: its events are spooled with the
 *   same ids, so the drainer's re-append is a replay, never a duplicate;
 * - the expected version is the one this sidecar last saw for the stream; a conflict
 *   (another writer got in between) re-reads and retries, and after maxRetries appends
 *   with `any`: legacy has already applied the command, so its event must be recorded.
 */
export function createEventWriter(opts: EventWriterOptions) {
  const versions = new Map<string, number>();
  const cacheSize = opts.versionCacheSize ?? 10_000;
  // Spool entries not yet drained, per stream. Writes to one stream are serialised by the
  // caller's key lock, and an entry is counted here before its write() resolves.
  const pending = new Map<string, number>();
  for (const streamId of opts.initiallyPending ?? []) pending.set(streamId, (pending.get(streamId) ?? 0) + 1);
  let storeHealthy = pending.size === 0;
  const remember = (streamId: string, v: number) => {
    versions.delete(streamId);
    versions.set(streamId, v);
    if (versions.size > cacheSize) versions.delete(versions.keys().next().value!);
  };

  async function appendWithRetry(streamId: string, events: (NewEvent & { id: string })[], fallback: ExpectedState): Promise<WriteOutcome> {
    for (let attempt = 0; ; attempt++) {
      const known = versions.get(streamId);
      const expected: ExpectedState = attempt > opts.maxRetries ? 'any' : (known ?? fallback);
      try {
        const end = opts.metrics?.appendDuration.startTimer();
        const r = await opts.store.append(streamId, events, { expected });
        end?.();
        remember(streamId, r.nextExpectedVersion);
        return r.replayed ? 'replayed' : 'appended';
      } catch (err) {
        if (!(err instanceof ConcurrencyError)) throw err;
        opts.metrics?.appendConflicts.inc();
        if (err.actual === null) versions.delete(streamId);
        else remember(streamId, err.actual);
        // A create that finds its stream already there (no_stream) is answered by 'any' next time.
        if (expected === fallback && known === undefined) fallback = 'any';
        if (attempt < opts.maxRetries) await sleep(opts.retryBackoffMs * 2 ** attempt);
      }
    }
  }

  async function toSpool(entity: string, streamId: string, events: (NewEvent & { id: string })[], reason: string): Promise<WriteOutcome> {
    versions.delete(streamId);
    pending.set(streamId, (pending.get(streamId) ?? 0) + 1);
    try {
      await opts.spool.write({ streamId, expected: 'any', events, entity, spooledAt: new Date().toISOString() });
    } catch (err) {
      const left = (pending.get(streamId) ?? 1) - 1;
      if (left > 0) pending.set(streamId, left);
      else pending.delete(streamId);
      throw err;
    }
    opts.metrics?.spoolWrites.inc({ reason });
    return 'spooled';
  }

  return {
    /**
     * The drainer appended (and acknowledged) spooled entries of these streams: the store
     * answers again, and a stream whose entries are all in is no longer behind the spool.
     */
    drained(streamIds: readonly string[]): void {
      storeHealthy = true;
      for (const id of streamIds) {
        const left = (pending.get(id) ?? 1) - 1;
        if (left > 0) pending.set(id, left);
        else pending.delete(id);
      }
    },
    /** Streams with spooled entries not yet drained (for tests and /readyz). */
    pendingStreams: () => pending.size,
    /** Whether the stream has spooled entries not yet in the store (its reads go to legacy). */
    isPending: (streamId: string) => pending.has(streamId),
    async write(
      entity: string,
      streamId: string,
      events: (NewEvent & { id: string })[],
      expected: ExpectedState = 'any',
    ): Promise<WriteOutcome> {
      if (!storeHealthy || pending.has(streamId)) return toSpool(entity, streamId, events, 'behind_spool');
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), opts.appendTimeoutMs)));
      const append = appendWithRetry(streamId, events, expected);
      try {
        const outcome = await Promise.race([append, timeout]);
        if (outcome === 'timeout') {
          storeHealthy = false;
          append.catch(() => {}); // still running; the spooled copy (same ids) is the record
          opts.logger.warn({ streamId, timeoutMs: opts.appendTimeoutMs }, 'event store slow: events spooled');
          return await toSpool(entity, streamId, events, 'timeout');
        }
        if (outcome === 'appended') {
          opts.metrics?.eventsAppended.inc({ entity, via: 'command' }, events.length);
          opts.onAppended?.();
        }
        return outcome;
      } catch (err) {
        storeHealthy = false;
        opts.logger.warn({ streamId, err: (err as Error).message }, 'event store append failed: events spooled');
        return await toSpool(entity, streamId, events, 'store_error');
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

export type EventWriter = ReturnType<typeof createEventWriter>;
