import type { Logger } from 'pino';
import { createCanaryRouter } from '../admin/canaryRoutes.ts';
import type { Config } from '../config/schema.ts';
import type { Executor } from '../db/executor.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { followCanary, type CanaryFollower } from './follow.ts';
import { STAGES, type CanaryState, type EntityReadiness } from './stages.ts';
import { changeCanary, type ChangeRequest, type ChangeResult } from './stateStore.ts';
import type { ReadHandlers } from '../reads/types.ts';
import { handledRoutes } from './startReads.ts';

export interface CanaryControl {
  follower: CanaryFollower;
  router: ReturnType<typeof createCanaryRouter>;
  /** A change made in this process (the demo's start): checked against this sidecar's readiness and steps, followed here at once. */
  change(req: Omit<ChangeRequest, 'steps' | 'readiness'>): Promise<ChangeResult>;
  readiness(entity: string): EntityReadiness;
  stop(): Promise<void>;
}

/**
 * The canary's control plane in a sidecar: this replica's copy of every entity's state
 * (metrics follow it) and the admin routes that change it. A stage past dual_write is
 * refused while a read route of the entity has no handler here.
 */
export async function startCanary(opts: {
  db: Executor;
  config: Config;
  logger: Logger;
  metrics: Metrics;
  handlers?: ReadHandlers;
  /** Told of each entity whose state changed (and of each at start), after the metrics. */
  onChange?: (state: CanaryState) => void;
}): Promise<CanaryControl> {
  const { config, metrics } = opts;
  const entities = Object.keys(config.entities);
  const follower = await followCanary(opts.db, {
    entities,
    logger: opts.logger,
    onChange: (s) => {
      metrics.canaryPercent.set({ entity: s.entity }, s.percent);
      for (const stage of STAGES) metrics.canaryStage.set({ entity: s.entity, stage }, stage === s.stage ? 1 : 0);
      opts.onChange?.(s);
    },
  });
  const readiness = (entity: string): EntityReadiness => ({
    reads: (config.entities[entity]?.reads ?? []).map((r) => r.route),
    handled: opts.handlers ? handledRoutes(opts.handlers, entity) : [],
  });
  const router = createCanaryRouter({
    db: opts.db,
    follower,
    entities,
    steps: config.canary.steps,
    readiness,
    tokens: config.admin.resolvedTokens,
    logger: opts.logger,
  });
  const change = async (req: Omit<ChangeRequest, 'steps' | 'readiness'>) => {
    const result = await changeCanary(opts.db, { ...req, steps: config.canary.steps, readiness: readiness(req.entity) });
    await follower.refresh().catch(() => undefined);
    return result;
  };
  return { follower, router, change, readiness, stop: () => follower.stop() };
}
