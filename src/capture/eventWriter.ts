import type { Logger } from 'pino';
import { ConcurrencyError } from '../eventstore/errors.ts';
import type { EventStore } from '../eventstore/eventStore.ts';
import type { ExpectedState, NewEvent } from '../eventstore/types.ts';
import type { Metrics } from '../metrics/metrics.ts';

/** What the writer needs of the durable spool. */
export interface SpoolSink {
  write(entry: { streamId: string; expected: ExpectedState; events: (NewEvent & { id: string })[]; entity?: string; spooledAt: string }): Promise<void>;
  depth(): number;
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
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Appends a command's events with a bounded wait, and spools them when the store is slow
 * or down. Rules that keep order and lose nothing:
 * - while the spool holds anything, every append goes behind it (the drainer keeps FIFO);
 * - an append that timed out may still commit later: its events are spooled with the
 *   same ids, so the drainer's re-append is a replay, never a duplicate;
 * - the expected version is the one this sidecar last saw for the stream; a conflict
 *   (another writer got in between) re-reads and retries, and after maxRetries appends
 *   with `any`: legacy has already applied the command, so its event must be recorded.
 */
export function createEventWriter(opts: EventWriterOptions) {
  const versions = new Map<string, number>();
  const cacheSize = opts.versionCacheSize ?? 10_000;
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
    await opts.spool.write({ streamId, expected: 'any', events, entity, spooledAt: new Date().toISOString() });
    opts.metrics?.spoolWrites.inc({ reason });
    return 'spooled';
  }

  return {
    async write(entity: string, streamId: string, events: (NewEvent & { id: string })[], expected: ExpectedState = 'any'): Promise<WriteOutcome> {
      if (opts.spool.depth() > 0) return toSpool(entity, streamId, events, 'behind_spool');
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), opts.appendTimeoutMs)));
      const append = appendWithRetry(streamId, events, expected);
      try {
        const outcome = await Promise.race([append, timeout]);
        if (outcome === 'timeout') {
          append.catch(() => {}); // still running; the spooled copy (same ids) is the record
          opts.logger.warn({ streamId, timeoutMs: opts.appendTimeoutMs }, 'event store slow: events spooled');
          return await toSpool(entity, streamId, events, 'timeout');
        }
        if (outcome === 'appended') opts.metrics?.eventsAppended.inc({ entity, via: 'command' }, events.length);
        return outcome;
      } catch (err) {
        opts.logger.warn({ streamId, err: (err as Error).message }, 'event store append failed: events spooled');
        return await toSpool(entity, streamId, events, 'store_error');
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

export type EventWriter = ReturnType<typeof createEventWriter>;
