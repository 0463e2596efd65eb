/**
 * `strangler-sidecar`: the package's public API. Everything a user module may import is
 * exported here and from the narrower entry points (`strangler-sidecar/projections`).
 * Read handlers (`defineReadHandler`) come next, from the same package.
 */
export * from './projections.ts';
