import { ConcurrencyError, IdempotencyConflictError } from '../eventstore/errors.ts';
import type { EventStore } from '../eventstore/eventStore.ts';
import { StranglerError } from '../errors/StranglerError.ts';
import type { Logger } from '../logging/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { Spool, SpoolEntry, SpoolPosition } from './types.ts';

export interface SpoolDrainerOptions {
  spool: Spool;
  store: Pick<EventStore, 'append'>;
  logger: Logger;
  metrics?: Pick<Metrics, 'spoolDepth' | 'spoolDrained' | 'eventsAppended'>;
  /** Pause between passes when the spool is empty. */
  intervalMs?: number;
  /** Entries per pass; the cursor is stored once per pass. */
  batch?: number;
  /** First retry delay after a failed pass (store down); doubles up to retryMaxMs. */
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** Window of the drain rate in state(). */
  rateWindowMs?: number;
  /** After every pass that drained something. */
  onDrained?: (info: { drained: number; depth: number }) => void;
  /** After every ack, with the stream id of each entry it covered (also when a later entry failed). */
  onAcked?: (streamIds: string[]) => void;
  /** Every failed pass; `fatal` means the loop stopped and waits for an operator (start() resumes). */
  onError?: (err: unknown, info: { fatal: boolean }) => void;
  now?: () => number;
}

export interface SpoolDrainerState {
  depth: number;
  draining: boolean;
  /** The failure of the latest pass; null once a pass succeeds again. */
  lastError: Error | null;
  /** Consecutive failed passes. */
  failures: number;
  /** The loop stopped on an error retrying cannot fix (an idempotency conflict). */
  halted: boolean;
  drainedTotal: number;
  /** Entries drained per second over the last rateWindowMs. */
  ratePerSecond: number;
}

export interface SpoolDrainer {
  start(): void;
  /** Stops the loop and waits for the pass in flight. Idempotent. */
  stop(): Promise<void>;
  /** One pass: appends up to `batch` entries in spool order, acks them, returns how many. */
  drainOnce(): Promise<number>;
  state(): SpoolDrainerState;
}

/**
 * Appends spooled entries to the event store strictly in spool order.
 *
 * Exactly once: the cursor is stored after the appends of a pass, so a crash re-appends
 * at most one pass; that re-append stores nothing because every event carries its id
 * and the store is idempotent by event id (it answers `replayed: true`).
 *
 * Wrong expected version: the legacy app already accepted the command, so its events
 * must reach the stream whatever its version is now. A ConcurrencyError is logged and the
 * same batch (same ids) is appended again with `expected: 'any'`; callers should spool
 * with 'any' in the first place.
 *
 * An idempotency conflict (some ids of an entry stored, some not) or an invalid entry
 * cannot be fixed by retrying: the loop halts on that entry, logs at error level and
 * exposes it in state().lastError. It never skips the entry.
 */
export function createSpoolDrainer(opts: SpoolDrainerOptions): SpoolDrainer {
  const { spool, store, logger, metrics } = opts;
  const intervalMs = opts.intervalMs ?? 500;
  const batch = opts.batch ?? 100;
  const retryInitialMs = opts.retryInitialMs ?? 250;
  const retryMaxMs = opts.retryMaxMs ?? 5_000;
  const rateWindowMs = opts.rateWindowMs ?? 10_000;
  const now = opts.now ?? Date.now;

  let inflight: Promise<number> | undefined;
  let loop: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let halted = false;
  let stopping: Promise<void> | undefined;
  let lastError: Error | null = null;
  let failures = 0;
  let drainedTotal = 0;
  const samples: { at: number; n: number }[] = [];

  async function appendEntry(entry: SpoolEntry): Promise<void> {
    let result;
    try {
      result = await store.append(entry.streamId, entry.events, { expected: entry.expected });
    } catch (err) {
      if (!(err instanceof ConcurrencyError) || entry.expected === 'any') throw err;
      logger.warn(
        { streamId: entry.streamId, expected: entry.expected, actual: err.actual, spooledAt: entry.spooledAt },
        'spool drainer: expected version no longer holds; appending the spooled events with expected "any"',
      );
      result = await store.append(entry.streamId, entry.events, { expected: 'any' });
    }
    if (!result.replayed) metrics?.eventsAppended.inc({ entity: entry.entity ?? 'unknown', via: 'spool' }, entry.events.length);
  }

  async function pass(): Promise<number> {
    let drained = 0;
    let done: SpoolPosition | undefined;
    const streams: string[] = [];
    try {
      for (const { entry, position } of await spool.peek(batch)) {
        await appendEntry(entry);
        done = position;
        streams.push(entry.streamId);
        drained++;
      }
    } finally {
      // Ack what was appended even when a later entry failed: the next pass starts there.
      if (done) {
        await spool.ack(done);
        try {
          opts.onAcked?.(streams);
        } catch (err) {
          logger.error({ err }, 'spool drainer: onAcked callback threw');
        }
      }
      drainedTotal += drained;
      metrics?.spoolDrained.inc(drained);
      metrics?.spoolDepth.set(spool.depth());
      if (drained > 0) samples.push({ at: now(), n: drained });
    }
    if (drained > 0) {
      try {
        opts.onDrained?.({ drained, depth: spool.depth() });
      } catch (err) {
        logger.error({ err }, 'spool drainer: onDrained callback threw');
      }
    }
    return drained;
  }

  function drainOnce(): Promise<number> {
    inflight ??= pass().finally(() => {
      inflight = undefined;
    });
    return inflight;
  }

  function schedule(ms: number): void {
    timer = setTimeout(() => {
      timer = undefined;
      loop = tick();
    }, ms);
  }

  async function tick(): Promise<void> {
    if (!running) return;
    let delay = intervalMs;
    try {
      const n = await drainOnce();
      failures = 0;
      lastError = null;
      if (n > 0 && spool.depth() > 0) delay = 0;
    } catch (err) {
      failures++;
      lastError = err instanceof Error ? err : new Error(String(err));
      const fatal = isFatal(err);
      if (fatal) {
        halted = true;
        logger.error(
          { err, depth: spool.depth() },
          'spool drainer HALTED: the oldest spooled entry cannot be appended and will not be skipped. Fix the cause, then restart the sidecar (or call start()).',
        );
      } else {
        delay = Math.min(retryMaxMs, retryInitialMs * 2 ** Math.min(failures - 1, 30));
        logger.warn({ err, depth: spool.depth(), failures, retryInMs: delay }, 'spool drainer: event store append failed; retrying');
      }
      try {
        opts.onError?.(err, { fatal });
      } catch (cbErr) {
        logger.error({ err: cbErr }, 'spool drainer: onError callback threw');
      }
      if (fatal) return;
    }
    if (running) schedule(delay);
  }

  return {
    start() {
      if (running && !halted) return;
      running = true;
      halted = false;
      stopping = undefined;
      if (timer === undefined) schedule(0);
    },
    stop() {
      stopping ??= (async () => {
        running = false;
        if (timer !== undefined) clearTimeout(timer);
        timer = undefined;
        await loop;
        await inflight?.catch(() => {});
      })();
      return stopping;
    },
    drainOnce,
    state() {
      const since = now() - rateWindowMs;
      while (samples.length > 0 && samples[0]!.at < since) samples.shift();
      const recent = samples.reduce((sum, s) => sum + s.n, 0);
      return {
        depth: spool.depth(),
        draining: inflight !== undefined,
        lastError,
        failures,
        halted,
        drainedTotal,
        ratePerSecond: recent / (rateWindowMs / 1000),
      };
    },
  };
}

/** Errors a retry cannot fix: the stored data or the entry itself is wrong. */
function isFatal(err: unknown): boolean {
  if (err instanceof IdempotencyConflictError) return true;
  return err instanceof StranglerError && err.status >= 400 && err.status < 500 && !(err instanceof ConcurrencyError);
}
