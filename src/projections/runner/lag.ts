import type { EventStore } from '../../eventstore/index.ts';
import type { Checkpoint } from '../../eventstore/types.ts';

export interface Lag {
  /** Events ordered after the checkpoint (including committed ones not yet visible). */
  events: number;
  /** now − recorded-at of the oldest unapplied visible event; 0 when caught up. */
  ms: number;
  /** recorded-at of that event, or null. */
  oldestUnappliedAt: string | null;
}

/**
 * How far a checkpoint is behind the log. Events committed above the snapshot xmin count
 * in `events` but not in `ms` until visible: their age is unknown to a reader that must
 * not read them yet (see readAll).
 */
export async function measureLag(store: EventStore, checkpoint: Checkpoint, now: number): Promise<Lag> {
  const [events, next] = await Promise.all([store.countAfter(checkpoint), store.readAll({ after: checkpoint, limit: 1 })]);
  const oldest = next.events[0];
  if (!oldest) return { events, ms: 0, oldestUnappliedAt: null };
  return { events, ms: Math.max(0, now - Date.parse(oldest.recordedAt)), oldestUnappliedAt: oldest.recordedAt };
}
