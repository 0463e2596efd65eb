/** Largest batch the runner grows to by default: catch-up speed levels off around here (bench/projection). */
export const DEFAULT_MAX_BATCH = 10_000;
/**
 * A batch whose transaction took longer than this halves: row locks are held that long. A
 * safety net for slow handlers, well above what a batch at the cap takes (10,000 events in
 * 150-500 ms on a 2-core machine): set lower, a loaded machine made the batch oscillate.
 */
export const DEFAULT_MAX_BATCH_MS = 2_000;
/**
 * Growth per full batch while behind. ×4 reaches the cap from 50 in 4 batches (3,650 events
 * read in small batches) where ×2 took 8 (12,750): on bench/projection the ramp was most of
 * the gap between the shipped configuration and a batch pinned at the cap.
 */
const GROWTH = 4;

export interface BatchSizerOptions {
  /** The configured size (projections.batchSize): used when caught up, and the floor. */
  base: number;
  /** The cap while behind; never below base. */
  max?: number;
  /** Longest batch transaction before the size halves. */
  maxBatchMs?: number;
}

/**
 * How many events the runner reads next. Behind (a batch came back full), the size grows
 * ×4 per batch up to `max`, so a catch-up pays the per-transaction cost (lease check, checkpoint
 * update, commit) once per thousands of events instead of once per `base`. Caught up (a
 * batch came back short), it drops back to `base`: a live event is applied in a small
 * transaction. A batch that failed (a poison event was isolated by halving) or ran longer
 * than maxBatchMs shrinks it too, so one bad stretch is not re-read in giant batches.
 */
export function createBatchSizer(o: BatchSizerOptions) {
  const base = Math.max(1, o.base);
  const max = Math.max(base, o.max ?? DEFAULT_MAX_BATCH);
  const maxBatchMs = o.maxBatchMs ?? DEFAULT_MAX_BATCH_MS;
  let size = base;
  return {
    /** The limit for the next read. */
    get size(): number {
      return size;
    },
    /** A read with limit `limit` returned `read` events: full means behind, short means caught up. */
    read(read: number, limit: number): void {
      size = read >= limit ? Math.min(max, limit * GROWTH) : base;
    },
    /** The batch's transaction(s) finished: `failed` when a handler failed somewhere in it. */
    committed(ms: number, failed: boolean): void {
      if (failed) size = base;
      // Shrinks faster than it grows, so a handler that is slow at any size walks down to base.
      else if (ms > maxBatchMs) size = Math.max(base, Math.floor(size / (GROWTH * 2)));
    },
  };
}

export type BatchSizer = ReturnType<typeof createBatchSizer>;
