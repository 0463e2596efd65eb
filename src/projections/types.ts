import type { Executor } from '../db/executor.ts';
import type { RecordedEvent } from '../eventstore/types.ts';
import type { Aggregate } from './aggregates/types.ts';

/** Logical table name (as the module knows it) → physical table the runner gives it. */
export type TableNames = Readonly<Record<string, string>>;

/**
 * A projection: name, version, the read-model DDL and a handler. The runner hands it
 * batches of events (already upcast to the current shapes) inside the transaction that
 * also moves its checkpoint, so a batch's effect and its checkpoint commit together.
 *
 * What must stay true of `apply`: deterministic from the events alone (no clock, no
 * reads of other systems), and idempotent per event id (re-applying an event already
 * applied changes nothing), so a rebuild from position 0 gives the same read model.
 */
export interface ProjectionModule {
  readonly name: string;
  /** Bump when the read-model shape or the handler's meaning changes: a rebuild follows. */
  readonly version: number;
  /** Logical names of the tables this projection owns, e.g. ['orders', 'order_items']. */
  readonly tables: readonly string[];
  /** DDL creating the tables under the given physical names (idempotent: IF NOT EXISTS). */
  ddl(t: TableNames): string;
  /** Event types this projection reads; the runner skips the rest without calling it. */
  readonly handles: readonly string[];
  /**
   * Stream categories this projection reads (stream id prefixes, e.g. `['orders-']` for the
   * template `orders-{id}`): events of other streams never reach it, whatever their type,
   * so a corrective event of another entity cannot pause it. Absent: every stream.
   */
  readonly streams?: readonly string[];
  /** Applies a batch in log order. */
  apply(tx: Executor, events: readonly RecordedEvent[], t: TableNames): Promise<void>;
  /**
   * The same read model as an in-memory fold of one stream, written independently of
   * `apply`: `strangler doctor verify STREAM` replays the stream through it and compares
   * the rows it expects with the rows the projection wrote. Absent: verify cannot check it.
   */
  readonly fold?: ProjectionFold<unknown>;
}

/**
 * A stream → expected rows fold: an aggregate (snapshotted like any other, so keep
 * `deserialize(serialize(s))` equal to `s`) plus the rows its state stands for.
 */
export interface ProjectionFold<S> extends Aggregate<S> {
  /** The rows the read model should hold for the stream `id` (the `{id}` of its stream), per logical table. */
  rows(state: S, ctx: { id: string }): ExpectedRows;
}

/** Logical table name → what one stream should leave in it. */
export type ExpectedRows = Readonly<Record<string, ExpectedTable>>;

export interface ExpectedTable {
  /** Columns selecting the stream's rows, with their values (`{ id: 'a1' }`, or `{ parent_id: 'a1' }` for child rows). */
  readonly where: Readonly<Record<string, string>>;
  /** Columns telling the selected rows apart (`['sku']`). Default: the `where` columns (at most one row). */
  readonly key?: readonly string[];
  /**
   * The rows expected, column → value as text (null for SQL NULL); [] when there is none.
   * Values compare as text, except that numbers compare by value (`1.50` = `1.5`), times
   * by instant and JSON by content, whatever the column types.
   */
  readonly rows: readonly Readonly<Record<string, string | null>>[];
  /** Why `rows` is empty, shown as `(no row: …)` (`the stream deleted it`). */
  readonly absent?: string;
}

/**
 * Turns an event's data from one schema version into the next (metadata.schemaVersion).
 * Published events are never rewritten: upcasting happens on the way into handlers.
 */
export interface Upcaster {
  readonly type: string;
  readonly fromVersion: number;
  up(data: unknown, event: RecordedEvent): unknown;
}
