import type { Logger } from 'pino';
import type { Executor } from '../db/executor.ts';
import type { EventStore } from '../eventstore/index.ts';
import type { RecordedEvent } from '../eventstore/types.ts';
import type { Aggregate } from '../projections/aggregates/types.ts';
import { snapshotDigest } from './digest.ts';
import { deleteSnapshot, loadSnapshot, saveSnapshot } from './snapshotStore.ts';
import { validateSnapshot } from './validateSnapshot.ts';

export interface RehydrateOptions {
  /** Save a snapshot once this many events were replayed past the last one (eventStore.snapshotInterval). */
  interval: number;
  logger?: Logger;
  /** false: ignore stored snapshots and replay from version 0 (nothing is saved either). */
  useSnapshots?: boolean;
}

export interface Rehydrated<S> {
  state: S;
  /** Stream version folded into `state` (0: no events). */
  version: number;
  /** Events read from the store, the snapshot's anchor event included. */
  eventsRead: number;
  /** Events folded on top of the snapshot (or from 0). */
  eventsReplayed: number;
  snapshot: {
    /** Version of the snapshot the fold started from, null when it started from 0. */
    usedVersion: number | null;
    /** Why a stored snapshot was thrown away. */
    discarded: string | null;
    /** Version of the snapshot saved by this call. */
    savedVersion: number | null;
  };
}

/**
 * The state of one stream: latest valid snapshot + the events after it. An invalid
 * snapshot is deleted, logged and ignored (the stream is replayed from version 0); the
 * stream is the truth, a snapshot only a cache of it.
 */
export async function rehydrate<S>(
  store: EventStore,
  db: Executor,
  streamId: string,
  aggregate: Aggregate<S>,
  opts: RehydrateOptions,
): Promise<Rehydrated<S>> {
  const useSnapshots = opts.useSnapshots ?? true;
  let state = aggregate.initial();
  let base = 0;
  let eventsRead = 0;
  let discarded: string | null = null;
  let events: RecordedEvent[] | undefined;

  const snap = useSnapshots ? await loadSnapshot(db, streamId, aggregate.kind) : null;
  if (snap) {
    // One read from the anchor on: the event at the snapshot's version, then the rest.
    const fromAnchor = await store.readStream(streamId, { fromVersion: Math.max(0, snap.version - 1) });
    eventsRead += fromAnchor.length;
    const check = validateSnapshot(snap, fromAnchor[0], aggregate);
    if (check.ok) {
      state = check.state;
      base = snap.version;
      events = fromAnchor.slice(1);
    } else {
      discarded = check.reason;
      opts.logger?.warn(
        { streamId, kind: aggregate.kind, snapshotVersion: snap.version, reason: check.reason },
        'invalid snapshot discarded; replaying the stream from version 0',
      );
      await deleteSnapshot(db, streamId, aggregate.kind, snap.version);
    }
  }
  if (!events) {
    events = await store.readStream(streamId);
    eventsRead += events.length;
  }

  for (const event of events) state = aggregate.apply(state, event);
  const last = events[events.length - 1];
  const version = last ? last.version : base;

  let savedVersion: number | null = null;
  if (useSnapshots && last && version - base >= opts.interval) {
    const serialized = aggregate.serialize(state);
    const digest = snapshotDigest({
      streamId,
      kind: aggregate.kind,
      foldVersion: aggregate.version,
      version,
      anchorEventId: last.id,
      state: serialized,
    });
    const saved = await saveSnapshot(db, streamId, aggregate.kind, version, {
      format: 1,
      foldVersion: aggregate.version,
      anchor: { eventId: last.id, position: last.position },
      digest,
      state: serialized,
    });
    if (saved) savedVersion = version;
  }
  return {
    state,
    version,
    eventsRead,
    eventsReplayed: events.length,
    snapshot: { usedVersion: base > 0 ? base : null, discarded, savedVersion },
  };
}
