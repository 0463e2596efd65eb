/** An event to append. `id` is the idempotency key: re-appending the same ids stores nothing new. */
export interface NewEvent {
  id?: string;
  type: string;
  data: unknown;
  metadata?: Record<string, unknown>;
}

/** The KurrentDB set of expected states; a number is an exact stream version (0 = no stream yet). */
export type ExpectedState = 'any' | 'no_stream' | 'stream_exists' | number;

export interface AppendResult {
  streamId: string;
  /** Versions and global positions of the batch, in batch order. */
  events: { id: string; version: number; position: number }[];
  /** The stream's version after the append: pass it as the next expected version. */
  nextExpectedVersion: number;
  /** True when every event id was already stored: the original result, nothing written. */
  replayed: boolean;
}

export interface RecordedEvent {
  position: number;
  streamId: string;
  version: number;
  id: string;
  type: string;
  data: unknown;
  metadata: Record<string, unknown>;
  /** ISO-8601 UTC with microseconds. */
  recordedAt: string;
  /** The writing transaction (xid8 as decimal text); part of the global checkpoint. */
  transactionId: string;
}

/**
 * Where a reader of the global log stands. Ordered by (transactionId, position), not by
 * position alone: positions are handed out before commit, so they commit out of order.
 */
export interface Checkpoint {
  transactionId: string;
  position: number;
}

export const START: Checkpoint = Object.freeze({ transactionId: '0', position: 0 });
