/**
 * `strangler-sidecar`: the package's public API. Everything a user module may import is
 * exported here and from the narrower entry points (`strangler-sidecar/projections`).
 * Read handlers (`defineReadHandler`) come next, from the same package.
 */
export * from './projections.ts';

// The database executors the sidecar uses (PostgreSQL, MariaDB/MySQL, embedded PGlite),
// for tools and sample services that talk to the same databases.
export { connect, type ConnectOptions } from '../db/connect.ts';
export { createPgliteExecutor, type PgliteExecutorOptions } from '../db/pgliteExecutor.ts';
export { redactUrl } from '../config/redactUrl.ts';
export type { DemoSample } from '../demo/runDemo.ts';
