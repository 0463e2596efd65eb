import type { ExpectedState, NewEvent } from '../eventstore/types.ts';

/** A spooled event always carries its id: the id makes re-appending it after a crash a no-op. */
export type SpoolEvent = NewEvent & { id: string };

/**
 * One append the command path could not finish in time, kept on disk until the drainer
 * has appended it to the event store.
 */
export interface SpoolEntry {
  streamId: string;
  /** Write `'any'`: the legacy app already accepted the command, a version check can only wedge the spool. */
  expected: ExpectedState;
  events: SpoolEvent[];
  /** Entity name from the migration spec (metrics labels). */
  entity?: string;
  /** ISO-8601 UTC time the entry was spooled. */
  spooledAt: string;
}

/**
 * Where an entry sits in the spool: segment number, byte offset of its record and the
 * offset just past it. `seq` orders entries within one open spool (not stored on disk).
 */
export interface SpoolPosition {
  readonly segment: number;
  readonly offset: number;
  readonly end: number;
  readonly seq: number;
}

export interface SpooledEntry {
  entry: SpoolEntry;
  position: SpoolPosition;
}

/** Counters for tests and metrics: group commit shows as `syncs` well below `writes`. */
export interface SpoolStats {
  /** Entries written (acknowledged to callers). */
  writes: number;
  /** Batches written with one write call each. */
  flushes: number;
  /** fsync/fdatasync calls on segment files. */
  syncs: number;
  bytes: number;
}

export interface Spool {
  readonly dir: string;
  /** Resolves once the entry is on disk (fdatasync'd unless opened with `fsync: false`). */
  write(entry: SpoolEntry): Promise<void>;
  /** Entries written and not yet acknowledged by the drainer. */
  depth(): number;
  /** The oldest undrained entries, in spool order (at most `max`). */
  peek(max: number): Promise<SpooledEntry[]>;
  /**
   * Durably moves the drain cursor past the entry at `position` (and every entry before
   * it). Acking a position already behind the cursor does nothing.
   */
  ack(position: SpoolPosition): Promise<void>;
  stats(): SpoolStats;
  /** Waits for queued writes, then closes the files. Idempotent. */
  close(): Promise<void>;
}
