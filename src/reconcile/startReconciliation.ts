import type { Logger } from 'pino';
import { createReconciliationRoutes } from '../admin/reconciliationRoutes.ts';
import type { Config } from '../config/schema.ts';
import type { Executor } from '../db/executor.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { RunnableProjection } from '../projections/runner/workers.ts';
import { createReconciler } from './reconciler.ts';
import { repairRun } from './repair/repair.ts';
import { recordReportMetrics } from './report/reportMetrics.ts';
import { createReconcileScheduler, type ReconcileScheduler } from './schedule.ts';

export interface Reconciliation {
  scheduler: ReconcileScheduler;
  routes: ReturnType<typeof createReconciliationRoutes>;
}

/**
 * Reconciliation in a sidecar: the reconciler, its schedule (started unless `schedule` is
 * false; runs still start from the admin API) and its admin routes. Null, said at start-up,
 * without a legacy database or an entity: there is nothing to compare.
 */
export function startReconciliation(opts: {
  config: Config;
  legacy: Executor | undefined;
  store: Executor;
  projections: readonly RunnableProjection[];
  schedule: boolean;
  metrics: Metrics;
  logger: Logger;
}): Reconciliation | null {
  const { config, legacy, logger, metrics } = opts;
  if (!legacy || !Object.keys(config.entities).length) {
    logger.warn(
      { entities: Object.keys(config.entities).length },
      'reconciliation is off: it needs legacy.database.url and at least one entity',
    );
    return null;
  }
  const reconciler = createReconciler({
    config,
    legacy,
    store: opts.store,
    projections: opts.projections,
    logger,
    onReport: (r) => recordReportMetrics(metrics, r),
    onError: (entity) => metrics.reconcileFailures.inc({ entity }),
  });
  const scheduler = createReconcileScheduler({ expression: config.reconciliation.schedule, reconciler, logger });
  const routes = createReconciliationRoutes({
    store: opts.store,
    scheduler,
    entities: Object.keys(config.entities),
    tokens: config.admin.resolvedTokens,
    logger,
    owner: reconciler.owner,
    repair: async (run, apply) => repairRun({ plan: await reconciler.plan(run.entity), run, legacy, store: opts.store, apply, logger }),
  });
  if (opts.schedule) scheduler.start();
  return { scheduler, routes };
}
