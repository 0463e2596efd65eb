import { runnerSettings } from './projections/runner/settings.ts';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Logger } from 'pino';
import { createAdminServer } from './admin/adminServer.ts';
import { createEventWriter } from './capture/eventWriter.ts';
import { createEventStoreHealth, runDoctor } from './doctor/index.ts';
import { createLegacyLookupReader, createLegacyRowReader } from './capture/legacyRow.ts';
import { refuseMissingLookupColumns } from './capture/lookupColumns.ts';
import { redactUrl } from './config/redactUrl.ts';
import type { Config } from './config/schema.ts';
import { connect } from './db/connect.ts';
import type { Executor } from './db/executor.ts';
import { createAppendSignal, openEventStore, type EventStore } from './eventstore/index.ts';
import { createMetrics, type Metrics } from './metrics/metrics.ts';
import { METRICS_HEALTH_MAX_AGE_MS, recordEventStoreHealth } from './metrics/eventStoreHealth.ts';
import { createCommandHandler } from './proxy/commandHandler.ts';
import { createKeyLock } from './proxy/keyLock.ts';
import { createPassthrough } from './proxy/passthrough.ts';
import { createUpstreamHealth } from './proxy/upstreamHealth.ts';
import { createUpgradeHandler, type UpgradeHandler } from './proxy/upgrade.ts';
import { createPublicServer } from './proxy/publicServer.ts';
import { compileRouteTable } from './proxy/routeTable.ts';
import { createSpoolDrainer, openSpool, type SpoolDrainerState } from './spool/index.ts';
import { loadProjections } from './projections/registry.ts';
import { createProjectionWorkers, runnerOwnerId, type RunnableProjection } from './projections/runner/workers.ts';
import { createProjectionRoutes } from './admin/projectionRoutes.ts';
import { createStatusRoutes } from './admin/statusRoutes.ts';
import { createDashboard } from './admin/dashboard.ts';
import type { ReadHandlers } from './reads/types.ts';
import type { CanaryControl } from './canary/startCanary.ts';
import type { StartGuardOptions } from './guard/startGuard.ts';
import { startReadSide } from './canary/startReadSide.ts';
import { startReconciliation } from './reconcile/startReconciliation.ts';
import type { Readiness } from './admin/adminServer.ts';

export interface SidecarOptions {
  config: Config;
  logger: Logger;
  metrics?: Metrics;
  /** Where `eventStore.url: embedded` keeps its data. Default ./data/eventstore. */
  embeddedDir?: string;
  /** An event store opened by the caller (the demo shares one); closed by the caller. */
  store?: EventStore;
  /** Spool fsync; only tests turn it off. */
  spoolFsync?: boolean;
  /** Drainer pause between passes. */
  drainIntervalMs?: number;
  /** How long requests in flight and open WebSocket tunnels get on stop() before they are cut (default 10 s). */
  drainMs?: number;
  /** Longest a single shutdown step may take before stop() goes on without it (default 15 s). */
  closeStepTimeoutMs?: number;
  /** The legacy database for `capture: row`, opened by the caller (the demo's embedded one). */
  legacyDb?: Executor;
  /** `false`: no reconciliation schedule (runs still start from the admin API). */
  schedule?: boolean;
  /** How often an upstream outage is logged with its count (default 60 s; tests shorten it). */
  upstreamLogIntervalMs?: number;
  /** Projection modules to run; default: the ones the config's entities name. `false`: run none. */
  projections?: readonly RunnableProjection[] | false;
  /** Test-only guard settings (a shorter stable period, the webhook's backoff, the replica id). */
  guard?: Pick<StartGuardOptions, 'stableMs' | 'webhookBackoffMs' | 'replica'>;
  /** Read handlers (entity → route → handler); default: the ones the config's reads name (declarative or modules). */
  readHandlers?: ReadHandlers;
}

export interface Sidecar {
  publicUrl: string;
  adminUrl: string;
  store: EventStore;
  metrics: Metrics;
  /** The canary state as this replica follows it, and in-process changes (the demo's start). */
  canary: { current: CanaryControl['follower']['current']; change: CanaryControl['change'] };
  guard: Awaited<ReturnType<typeof startReadSide>>['guard'];
  /** Graceful stop: stop accepting, finish requests in flight, drain loops, close pools. Idempotent. */
  stop(): Promise<void>;
}

function listen(server: http.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * Stops accepting, lets requests in flight (and upgraded connections) finish, then cuts
 * connections still open after graceMs: upgraded ones are no longer the http server's, so
 * they are cut through their handler.
 */
function close(server: http.Server, graceMs = 10_000, upgrades?: UpgradeHandler): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => {
      server.closeAllConnections();
      upgrades?.closeAll();
    }, graceMs);
    force.unref();
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}

const urlHost = (host: string) => (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host);

/**
 * The composition root: config → dependencies → servers and loops; and the reverse on stop.
 */
export async function startSidecar(opts: SidecarOptions): Promise<Sidecar> {
  const { config, logger } = opts;
  const metrics = opts.metrics ?? createMetrics(undefined, { defaults: true, gc: config.admin.gcMetrics });
  // Everything opened is closed in reverse order: by stop(), or at once when a later
  // start-up step fails (a port in use must not leave loops and pools running).
  // Each step gets a deadline: a shutdown must finish inside the pod's grace period, and a
  // step that hangs is named in the log instead of silently holding the process.
  const closers: { name: string; fn: () => unknown }[] = [];
  const onClose = (name: string, fn: () => unknown) => closers.push({ name, fn });
  const closeAll = async () => {
    for (const { name, fn } of closers.reverse()) {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), opts.closeStepTimeoutMs ?? 15_000)));
      try {
        const outcome = await Promise.race([Promise.resolve(fn()), deadline]);
        if (outcome === 'timeout') logger.error({ step: name }, 'shutdown step did not finish in time; going on without it');
      } catch (err) {
        logger.warn({ step: name, err: (err as Error).message }, 'error while closing');
      } finally {
        clearTimeout(timer);
      }
    }
  };
  try {
    return await assemble();
  } catch (err) {
    await closeAll();
    throw err;
  }

  async function assemble(): Promise<Sidecar> {
    const store =
      opts.store ??
      (await openEventStore({
        url: config.eventStore.url,
        embeddedDir: opts.embeddedDir ?? path.resolve('data/eventstore'),
        migrate: config.eventStore.migrateOnStart,
        poolSize: 20,
        appendGroups: config.eventStore.appendGroups,
      }));
    if (!opts.store) onClose('event store', () => store.close());
    metrics.watchAppendStats(() => store.appendStats());
    const spool = await openSpool({ dir: config.eventStore.spool.path, fsync: opts.spoolFsync ?? true, logger });
    onClose('spool', () => spool.close());
    const signalAppended = createAppendSignal(store);
    // Entries left from before a restart keep their streams behind the spool until drained.
    const leftover = spool.depth() > 0 ? (await spool.peek(spool.depth())).map((e) => e.entry.streamId) : [];
    const writer = createEventWriter({
      store,
      spool,
      appendTimeoutMs: config.eventStore.appendTimeoutMs,
      maxRetries: config.eventStore.maxRetries,
      retryBackoffMs: config.eventStore.retryBackoffMs,
      metrics,
      logger,
      initiallyPending: leftover,
      onAppended: signalAppended,
    });
    const drainer = createSpoolDrainer({
      spool,
      store,
      logger,
      metrics,
      onAcked: (streamIds) => writer.drained(streamIds),
      onDrained: () => signalAppended(),
      ...(opts.drainIntervalMs ? { intervalMs: opts.drainIntervalMs } : {}),
      onError: (err, info) =>
        logger[info.fatal ? 'error' : 'warn']({ err: (err as Error).message, fatal: info.fatal }, 'spool drain failed'),
    });
    metrics.spoolDepth.set(spool.depth());
    if (spool.depth() > 0) logger.warn({ depth: spool.depth() }, 'spool holds undrained appends from before the restart; draining');
    drainer.start();
    onClose('spool drainer', () => drainer.stop());

    // Before the projections: a row projection creates a missing read-model table from the legacy columns.
    let legacyDb = opts.legacyDb;
    if (!legacyDb && config.legacy.database.url !== null) {
      const own = await connect({ url: config.legacy.database.url, max: 5 });
      onClose('legacy database', () => own.close());
      legacyDb = own;
    }
    if (legacyDb) await refuseMissingLookupColumns(legacyDb, config.entities, logger);

    // One runner per projection, each behind its own lease: every replica starts them, one per
    // projection applies, the others stand by and take over when it dies.
    const projections =
      opts.projections === false ? [] : (opts.projections ?? (await loadProjections(config.entities, { legacy: legacyDb ?? null })));
    const projectionWorkers =
      projections.length > 0
        ? createProjectionWorkers({
            store,
            projections,
            ...runnerSettings(config),
            logger,
            metrics,
          })
        : null;
    projectionWorkers?.start();
    onClose('projection runners', () => projectionWorkers?.stop()); // after the batch in flight; releases the leases

    // Reconciliation needs the legacy database; without one it is off (said at start-up).
    const reconciliation = startReconciliation({
      config,
      legacy: legacyDb,
      store: store.db,
      projections,
      schedule: opts.schedule !== false,
      metrics,
      logger,
    });
    if (reconciliation) onClose('reconciliation', () => reconciliation.scheduler.stop()); // after the chunk in flight; the next start resumes the run
    const reconciliationRoutes = reconciliation?.routes ?? null;

    const upstream = new URL(config.legacy.upstream);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 512, maxFreeSockets: 256, scheduling: 'lifo' });
    onClose('upstream agent', () => agent.destroy());
    const upstreamHealth = createUpstreamHealth({
      upstream: redactUrl(config.legacy.upstream),
      unreadyAfterFailures: config.legacy.unreadyAfterFailures,
      logger,
      ...(opts.upstreamLogIntervalMs ? { logIntervalMs: opts.upstreamLogIntervalMs } : {}),
    });
    onClose('upstream health', () => upstreamHealth.stop());
    const keyLock = createKeyLock();
    const routes = compileRouteTable(config.entities);
    const upgrades = createUpgradeHandler({
      upstream,
      enabled: config.legacy.upgrades,
      timeoutMs: config.legacy.timeoutMs,
      metrics,
      health: upstreamHealth,
    });
    const passthrough = createPassthrough({
      upstream: config.legacy.upstream,
      agent,
      timeoutMs: config.legacy.timeoutMs,
      metrics,
      health: upstreamHealth,
    });
    const { canary, guard, shadow, reads, projectionNames, activity } = await startReadSide({
      ...{ config, store, handlers: opts.readHandlers, projections, spool, agent, passthrough, metrics, logger, onClose },
      ...{ pendingInSpool: (id: string) => writer.isPending(id), ...(opts.guard ? { guard: opts.guard } : {}) },
    });
    const publicServer = createPublicServer({
      routes,
      passthrough,
      read: reads.handle,
      activity,
      command: createCommandHandler({
        upstream,
        agent,
        timeoutMs: config.legacy.timeoutMs,
        bodyLimitBytes: config.server.bodyLimitBytes,
        entities: config.entities,
        writer,
        keyLock,
        ...(legacyDb ? { readRow: createLegacyRowReader(legacyDb), lookupRow: createLegacyLookupReader(legacyDb) } : {}),
        actorHeader: config.server.actorHeader,
        ...(config.server.actor ? { actorJwtClaim: config.server.actor.jwtClaim } : {}),
        metrics,
        logger,
        upstreamHealth,
      }),
      upgrade: upgrades,
      maxHeaderBytes: config.server.maxHeaderBytes,
      metrics,
      logger,
    });

    let stopping = false;
    const eventStoreHealth = createEventStoreHealth({ run: () => runDoctor(store.db).then((r) => recordEventStoreHealth(metrics, r)) });
    metrics.watchEventStoreHealth(
      () =>
        void eventStoreHealth(METRICS_HEALTH_MAX_AGE_MS).catch((err: Error) => logger.debug({ err }, 'event store health check failed')),
    );
    // Spooling is still ready; legacy refusing connections `legacy.unreadyAfterFailures` times
    // in a row is not (each /readyz while unreachable tries one connection, so it recovers).
    const readiness: Readiness = {
      ready: () => !stopping && upstreamHealth.ready(),
      details: async () => {
        await upstreamHealth.recheck();
        return {
          upstream: { url: redactUrl(config.legacy.upstream), ...upstreamHealth.state() },
          spool: { depth: spool.depth(), ...pick(drainer.state()) },
          eventStore: store.description,
        };
      },
    };
    const tokens = config.admin.resolvedTokens;
    const projectionRoutes = createProjectionRoutes({
      store,
      projections,
      tokens,
      logger,
      owner: projectionWorkers?.owner ?? runnerOwnerId(),
    });
    onClose('projection rebuilds', () => projectionRoutes.stop()); // between batches; the next rebuild resumes
    const statusRoutes = createStatusRoutes({
      canary: (entity) => canary.follower.current(entity),
      readiness,
      store,
      entities: config.entities,
      projectionNames,
      projections: () => projectionRoutes.list(),
      tokens,
      logger,
    });
    const dashboard = createDashboard({ tokens });
    const adminServer = createAdminServer({
      registry: metrics.registry,
      logger,
      middleware: dashboard.middleware,
      routes: [statusRoutes, projectionRoutes, ...(reconciliationRoutes ? [reconciliationRoutes] : [])],
      routers: [...[canary, shadow, guard].map(({ router }) => ({ path: '/admin', router })), ...dashboard.routers],
      endpoints: [
        '/admin/status',
        '/admin/projections',
        ...(reconciliationRoutes ? ['/admin/reconciliations'] : []),
        '/admin/canary',
        '/admin/audit',
        '/admin/shadow',
        '/admin/guard',
        ...dashboard.endpoints,
      ],
      eventStoreHealth: async () => {
        const h = await eventStoreHealth();
        return { ...h.report, ok: h.ok, ageMs: h.ageMs };
      },
      readiness,
    });
    const publicPort = await listen(publicServer, config.server.port, config.server.host);
    // Waits for commands in flight (their appends included) and open tunnels, up to drainMs.
    onClose('public server', () => close(publicServer, opts.drainMs ?? 10_000, upgrades));
    const adminPort = await listen(adminServer, config.admin.port, config.admin.host);
    onClose('admin server', () => close(adminServer));
    const publicUrl = `http://${urlHost(config.server.host)}:${publicPort}`;
    const adminUrl = `http://${urlHost(config.admin.host)}:${adminPort}`;
    logger.info(
      {
        publicUrl,
        adminUrl,
        upstream: config.legacy.upstream,
        eventStore: store.description,
        legacyDb: config.legacy.database.url ? redactUrl(config.legacy.database.url) : null,
        routes: routes.routes.length,
      },
      'sidecar started',
    );

    let stopped: Promise<void> | undefined;
    return {
      publicUrl,
      adminUrl,
      store,
      metrics,
      canary: { current: (entity) => canary.follower.current(entity), change: (req) => canary.change(req) },
      guard,
      stop() {
        stopped ??= (async () => {
          stopping = true;
          await closeAll();
          logger.info('sidecar stopped');
        })();
        return stopped;
      },
    };
  }
}

/** The drainer's state for /readyz (the spool's own depth is read beside it), its error as its message. */
function pick({ depth: _depth, lastError, ...s }: SpoolDrainerState) {
  return { ...s, lastError: lastError?.message ?? null };
}
