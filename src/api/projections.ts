/**
 * `strangler-sidecar/projections`: what a projection module is written against. Modules
 * import from here (or from `strangler-sidecar`), never from the sidecar's `src/` paths:
 * these names are the supported surface, the rest may move. See docs/extending.md.
 */
export { defineProjection } from '../projections/define.ts';
export type { ExpectedRows, ExpectedTable, ProjectionFold, ProjectionModule, TableNames, Upcaster } from '../projections/types.ts';
export type { ProjectionContext, ProjectionFileExports } from '../projections/registry.ts';
export type { Aggregate } from '../projections/aggregates/types.ts';
export type { RecordedEvent } from '../eventstore/types.ts';
export type { Executor, QueryResult } from '../db/executor.ts';

// Building blocks the built-in projections use too.
export { arrayLiteral, ident, tableIdent, tableName } from '../projections/modules/sql.ts';
export { streamCategory, streamKeyParser } from '../projections/modules/streamKey.ts';
export { readAppliedVersions, tombstoneDdl, writeTombstones, type AppliedState } from '../projections/modules/appliedVersions.ts';
export { normalizeTimestamp } from '../projections/aggregates/timestamps.ts';
/** Reconciliation's corrective events (a legacy row's after-image; a row legacy no longer has). */
export { ROW_REMOVED, ROW_REPAIRED } from '../reconcile/repair/repairEvents.ts';
export { StranglerError } from '../errors/StranglerError.ts';
