/**
 * `strangler-sidecar`: the package's public API. Everything a user module may import is
 * exported here and from the narrower entry points (`strangler-sidecar/projections`,
 * `strangler-sidecar/reads`).
 */
export * from './projections.ts';
export { defineReadHandler, JSON_CONTENT_TYPE, PASS_TO_LEGACY } from './reads.ts';
export type { ReadAnswer, ReadContext, ReadHandler, ReadHandlerContext, ReadHandlerFileExports, ReadRequest } from './reads.ts';

// The database executors the sidecar uses (PostgreSQL, MariaDB/MySQL, embedded PGlite),
// for tools and sample services that talk to the same databases.
export { connect, type ConnectOptions } from '../db/connect.ts';
export { createPgliteExecutor, type PgliteExecutorOptions } from '../db/pgliteExecutor.ts';
export { redactUrl } from '../config/redactUrl.ts';
export type { DemoSample } from '../demo/runDemo.ts';
