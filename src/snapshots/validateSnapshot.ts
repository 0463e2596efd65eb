import type { RecordedEvent } from '../eventstore/types.ts';
import type { Aggregate } from '../projections/aggregates/types.ts';
import { snapshotDigest } from './digest.ts';
import type { SnapshotEnvelope, StoredSnapshot } from './snapshotStore.ts';

export type SnapshotCheck<S> = { ok: true; state: S } | { ok: false; reason: string };

/**
 * Is this snapshot still the state of this stream up to its version?
 *
 * The choice: an anchor event plus a digest, not a hash of every event up to the version
 * and not a re-fold of a sample. Hashing all events would read them all, which is the
 * replay the snapshot exists to avoid. What is checked instead, at the cost of reading the
 * one event at the snapshot's version (which the caller reads anyway with the rest):
 * - the stream still has an event at that version and it is the same event (id) the
 *   snapshot was taken after: a stream that was truncated, re-created or rewritten there
 *   invalidates it;
 * - a sha256 digest over (stream, kind, fold version, version, anchor id, state) still
 *   matches: a state edited or corrupted in the table is caught. It is not a signature:
 *   someone able to write the table can recompute it; it guards against accidents and
 *   hand edits, not an attacker with write access;
 * - the fold version that wrote it is the current one: a changed fold never reuses state
 *   computed by the old code.
 * Faults before the anchor (a duplicate or missing earlier event) are the doctor's checks.
 */
export function validateSnapshot<S>(snap: StoredSnapshot, anchor: RecordedEvent | undefined, aggregate: Aggregate<S>): SnapshotCheck<S> {
  const e = snap.envelope as Partial<SnapshotEnvelope> | null;
  if (!e || typeof e !== 'object' || e.format !== 1 || !e.anchor || typeof e.digest !== 'string')
    return { ok: false, reason: 'not a snapshot envelope (format 1)' };
  if (e.foldVersion !== aggregate.version)
    return { ok: false, reason: `written by fold version ${String(e.foldVersion)}, current is ${aggregate.version}` };
  const digest = snapshotDigest({
    streamId: snap.streamId,
    kind: snap.kind,
    foldVersion: e.foldVersion,
    version: snap.version,
    anchorEventId: e.anchor.eventId,
    state: e.state,
  });
  if (digest !== e.digest) return { ok: false, reason: 'digest mismatch: the stored state or version was altered' };
  if (!anchor || anchor.version !== snap.version)
    return { ok: false, reason: `the stream has no event at version ${snap.version} any more` };
  if (anchor.id !== e.anchor.eventId)
    return { ok: false, reason: `the event at version ${snap.version} is ${anchor.id}, the snapshot was taken after ${e.anchor.eventId}` };
  try {
    return { ok: true, state: aggregate.deserialize(e.state) };
  } catch (err) {
    return { ok: false, reason: `state does not deserialize: ${(err as Error).message}` };
  }
}
