import type { RecordedEvent } from '../../eventstore/types.ts';

/**
 * A pure in-memory fold of one stream: the state an aggregate has after its events.
 * Used where a stream is rehydrated (doctor verify, read handlers that need state) and
 * snapshotted every `snapshotInterval` events.
 *
 * What must stay true: `apply` is deterministic from the events alone (no clock, no I/O),
 * and `deserialize(serialize(s))` gives back an equal state, so folding from a snapshot
 * equals folding from version 0. Bump `version` whenever the fold's meaning or the state
 * shape changes: snapshots written by another version are discarded, never reused.
 */
export interface Aggregate<S> {
  /** The snapshot kind (strangler_snapshots.kind), e.g. 'order'. */
  readonly kind: string;
  readonly version: number;
  initial(): S;
  apply(state: S, event: RecordedEvent): S;
  /** Plain JSON (no bigint, no Date): what a snapshot stores. */
  serialize(state: S): unknown;
  /** Throws when the JSON is not a state this version wrote. */
  deserialize(json: unknown): S;
}
