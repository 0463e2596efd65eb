/**
 * `strangler-sidecar/reads`: what a read-handler module is written against. Modules import
 * from here (or from `strangler-sidecar`), never from the sidecar's `src/` paths. See
 * docs/extending.md, "Read handlers".
 */
export { defineReadHandler } from '../reads/define.ts';
export type { ReadHandlerContext, ReadHandlerFileExports } from '../reads/define.ts';
export { JSON_CONTENT_TYPE, PASS_TO_LEGACY } from '../reads/types.ts';
export type { ReadAnswer, ReadContext, ReadHandler, ReadRequest } from '../reads/types.ts';
export type { EntityConfig } from '../config/schema.ts';
export type { Executor, QueryResult } from '../db/executor.ts';
export { ident, tableIdent } from '../projections/modules/sql.ts';
