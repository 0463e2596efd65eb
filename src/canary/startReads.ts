import type { Logger } from 'pino';
import { projectionOwner } from '../config/entitySchema.ts';
import type { Config } from '../config/schema.ts';
import type { EventStore } from '../eventstore/index.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { Passthrough } from '../proxy/passthrough.ts';
import type { ReadHandlers } from '../reads/types.ts';
import type { CanaryFollower } from './follow.ts';
import { startFreshness, type Freshness } from './freshness.ts';
import { createReadPath } from './readPath.ts';
import type { ReadStats } from './readStats.ts';
import type { Shadow } from './shadowTypes.ts';

export interface StartReadsOptions {
  config: Config;
  store: EventStore;
  handlers: ReadHandlers;
  follower: Pick<CanaryFollower, 'current'>;
  passthrough: Passthrough;
  /** Entity → projection name, for the projections this sidecar loaded (others: see projectionOf below). */
  projectionNames: Readonly<Record<string, string>>;
  pendingInSpool?: (streamId: string) => boolean;
  shadow?: Shadow;
  stats?: ReadStats;
  metrics?: Metrics;
  logger: Logger;
}

export interface Reads {
  handle: ReturnType<typeof createReadPath>;
  freshness: Freshness;
  stop(): Promise<void>;
}

/**
 * The read path in a sidecar: projection freshness followed on timers, and the per-request
 * routing. An entity reads its own projection (the one loaded for it, else `row`'s default
 * name, the entity's); an `of:X` entity's read model is built from X's streams, so no key of
 * it can be checked for read-your-writes: its reads stay with legacy at every stage.
 */
export async function startReads(opts: StartReadsOptions): Promise<Reads> {
  const { config } = opts;
  const projectionOf = (entity: string): string | null => {
    const e = config.entities[entity];
    if (!e || projectionOwner(e.projection) !== null) return null;
    return opts.projectionNames[entity] ?? (e.projection === 'row' ? entity : null);
  };
  const withHandlers = Object.keys(config.entities).filter((e) => (opts.handlers.get(e)?.size ?? 0) > 0);
  for (const e of withHandlers)
    if (projectionOf(e) === null)
      opts.logger.warn(
        { entity: e },
        'read handlers of an entity without a projection of its own (of:X, or a module not loaded here): its reads stay with legacy',
      );
  const names = [...new Set(withHandlers.map(projectionOf).filter((n): n is string => n !== null))];
  const freshness = await startFreshness({ store: opts.store, projections: names, logger: opts.logger });
  const handle = createReadPath({
    entities: config.entities,
    canary: config.canary,
    handlers: opts.handlers,
    follower: opts.follower,
    freshness,
    projectionOf,
    ...(opts.pendingInSpool ? { pendingInSpool: opts.pendingInSpool } : {}),
    store: opts.store,
    db: opts.store.db,
    passthrough: opts.passthrough,
    ...(opts.shadow ? { shadow: opts.shadow } : {}),
    ...(opts.stats ? { stats: opts.stats } : {}),
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
    logger: opts.logger,
  });
  return { handle, freshness, stop: () => freshness.stop() };
}

/** Read routes of an entity that have a handler (the stages' readiness). */
export function handledRoutes(handlers: ReadHandlers, entity: string): string[] {
  return [...(handlers.get(entity)?.keys() ?? [])];
}
