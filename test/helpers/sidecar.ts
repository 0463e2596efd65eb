/**
 * A sidecar for tests: the sample spec (examples/legacy-orders/strangler.yaml) in front of
 * `upstream`, both ports ephemeral on loopback, the spool in a temp directory (fsync off),
 * and a hook to adjust the validated config before start. `stop()` also removes the spool.
 */
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../../src/config/schema.ts';
import { loadConfig } from '../../src/config/index.ts';
import type { EventStore } from '../../src/eventstore/index.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { startSidecar, type Sidecar, type SidecarOptions } from '../../src/sidecar.ts';

export interface TestSidecarOptions {
  upstream: string;
  /** The event store URL (`postgres://…`, `memory`); ignored when `store` is given. */
  eventStoreUrl?: string;
  /** A store opened by the caller and shared (the caller closes it after stopping the sidecar). */
  store?: EventStore;
  configure?: (config: Config) => void;
  /** Drain period on stop() (default 10 s). */
  drainMs?: number;
  /** Projections to run instead of the ones the spec names (e.g. one slowed on purpose). */
  projections?: SidecarOptions['projections'];
  /** Read handlers to use instead of the ones the spec names. */
  readHandlers?: SidecarOptions['readHandlers'];
}

export async function startTestSidecar(opts: TestSidecarOptions): Promise<Sidecar & { config: Config }> {
  const config = loadConfig({
    file: 'examples/legacy-orders/strangler.yaml',
    env: { STRANGLER_LEGACY_UPSTREAM: opts.upstream, STRANGLER_EVENTSTORE_URL: opts.eventStoreUrl ?? 'memory' },
  });
  // Ports are set on the validated config: the schema (rightly) refuses server.port ==
  // admin.port, which two zeros would be.
  config.server.host = '127.0.0.1';
  config.server.port = 0;
  config.admin.host = '127.0.0.1';
  config.admin.port = 0;
  const spoolDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'strangler-test-spool-'));
  config.eventStore.spool.path = spoolDir;
  opts.configure?.(config);
  const sidecar = await startSidecar({
    config,
    logger: silentLogger(),
    spoolFsync: false,
    drainIntervalMs: 20,
    ...(opts.store ? { store: opts.store } : {}),
    ...(opts.drainMs !== undefined ? { drainMs: opts.drainMs } : {}),
    ...(opts.projections !== undefined ? { projections: opts.projections } : {}),
    ...(opts.readHandlers !== undefined ? { readHandlers: opts.readHandlers } : {}),
  });
  return {
    ...sidecar,
    config,
    async stop() {
      await sidecar.stop();
      await fsp.rm(spoolDir, { recursive: true, force: true });
    },
  };
}
