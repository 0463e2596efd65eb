import type http from 'node:http';
import type { Logger } from 'pino';
import { createShadowRouter } from '../../admin/shadowRoutes.ts';
import type { Config } from '../../config/schema.ts';
import type { Executor } from '../../db/executor.ts';
import type { Metrics } from '../../metrics/metrics.ts';
import type { ClientActivity } from '../../proxy/clientActivity.ts';
import type { ReadHandlers } from '../../reads/types.ts';
import type { ReadStats } from '../readStats.ts';
import { createShadow, type ShadowComparer } from './createShadow.ts';
import { createLegacyReread } from './legacyReread.ts';

export interface ShadowControl {
  /** What the read path calls (wanted, submit) and what GET /admin/shadow reads. */
  shadow: ShadowComparer;
  /** Mount at /admin. */
  router: ReturnType<typeof createShadowRouter>;
}

/**
 * The shadow comparison in a sidecar: comparisons against the read handlers on the read
 * model's database, second legacy reads (noise) over the sidecar's upstream agent, and
 * `GET /admin/shadow`. Stop `shadow` on shutdown, before the database it reads closes.
 */
export function startShadow(opts: {
  config: Config;
  handlers: ReadHandlers;
  db: Executor;
  agent: http.Agent;
  activity?: ClientActivity;
  metrics: Metrics;
  stats?: ReadStats;
  logger: Logger;
}): ShadowControl {
  const { config } = opts;
  const settings = config.canary.shadow;
  const shadow = createShadow({
    settings,
    entities: config.entities,
    handlers: opts.handlers,
    db: opts.db,
    reread: createLegacyReread({
      upstream: new URL(config.legacy.upstream),
      agent: opts.agent,
      timeoutMs: Math.min(config.legacy.timeoutMs, settings.timeoutMs),
      maxBodyBytes: settings.maxBodyBytes,
    }),
    ...(opts.activity ? { activity: opts.activity } : {}),
    metrics: opts.metrics,
    ...(opts.stats ? { stats: opts.stats } : {}),
    logger: opts.logger,
  });
  const router = createShadowRouter({ summary: shadow.summary, tokens: config.admin.resolvedTokens });
  return { shadow, router };
}
