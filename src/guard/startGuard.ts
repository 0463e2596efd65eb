import cron from 'node-cron';
import type { Logger } from 'pino';
import { createGuardRouter } from '../admin/guardRoutes.ts';
import type { EntityReadiness } from '../canary/stages.ts';
import { projectionOwner } from '../config/entitySchema.ts';
import type { Config } from '../config/schema.ts';
import type { EventStore } from '../eventstore/index.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { createGuard, type Guard } from './guard.ts';
import type { GuardStats } from './window.ts';
import { createWebhook } from './webhook.ts';

export interface StartGuardOptions {
  store: EventStore;
  config: Config;
  logger: Logger;
  metrics: Metrics;
  /** The canary's control plane: readiness(entity) for promotions and restores. */
  canary: { readiness(entity: string): EntityReadiness };
  /** The projections this sidecar runs: `entity` → module name (an `of:X` entity uses X's). */
  projections: readonly { entity?: unknown; module: { name: string } }[];
  spool: { depth(): number };
  /** Test-only: stable period before a promotion (ms), webhook backoff, replica id. */
  stableMs?: number;
  webhookBackoffMs?: number;
  replica?: string;
  /** The ReadStats already handed to the read path (createGuardStats()); default: a new one, as `guard.stats`. */
  stats?: GuardStats;
}

/** The longest gap between the next runs of a cron schedule (a quiet weekend counts). */
export function cronPeriodMs(expression: string): number {
  const task = cron.createTask(expression, () => undefined);
  try {
    const runs = task.getNextRuns(60).map((d) => d.getTime());
    let max = 0;
    for (let i = 1; i < runs.length; i++) max = Math.max(max, runs[i]! - runs[i - 1]!);
    return max || 24 * 3_600_000;
  } finally {
    void task.destroy();
  }
}

/** rollback.maxReportAgeMs, or twice the reconciliation schedule's period. */
export function maxReportAgeMs(config: Config): number {
  return config.rollback.maxReportAgeMs ?? 2 * cronPeriodMs(config.reconciliation.schedule);
}

/** The guard in a sidecar: its loop, its webhook queue and GET /admin/guard. `guard.stats` is what the read path feeds. */
export function startGuard(opts: StartGuardOptions): Guard & { router: ReturnType<typeof createGuardRouter> } {
  const { config } = opts;
  const names = new Map<string, string>();
  for (const p of opts.projections) if (typeof p.entity === 'string') names.set(p.entity, p.module.name);
  const projectionOf = (entity: string): string | null => {
    const owner = projectionOwner(config.entities[entity]?.projection ?? 'row');
    return names.get(owner ?? entity) ?? null;
  };
  const webhook = createWebhook({
    url: config.rollback.webhook.url,
    secret: config.rollback.webhook.secret,
    timeoutMs: config.rollback.webhook.timeoutMs,
    retries: config.rollback.webhook.retries,
    logger: opts.logger,
    ...(opts.webhookBackoffMs !== undefined ? { backoffMs: opts.webhookBackoffMs } : {}),
  });
  const guard = createGuard({
    store: opts.store,
    config,
    logger: opts.logger,
    metrics: opts.metrics,
    webhook,
    readiness: (entity) => opts.canary.readiness(entity),
    projectionOf,
    spoolDepth: () => opts.spool.depth(),
    maxReportAgeMs: maxReportAgeMs(config),
    ...(opts.stableMs !== undefined ? { stableMs: opts.stableMs } : {}),
    ...(opts.replica !== undefined ? { replica: opts.replica } : {}),
    ...(opts.stats !== undefined ? { stats: opts.stats } : {}),
  });
  void guard.tick();
  return Object.assign(guard, { router: createGuardRouter({ guard, tokens: config.admin.resolvedTokens }) });
}
