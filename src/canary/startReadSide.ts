import type http from 'node:http';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import type { EventStore } from '../eventstore/index.ts';
import { startGuard, type StartGuardOptions } from '../guard/startGuard.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { RunnableProjection } from '../projections/runner/workers.ts';
import { createClientActivity } from '../proxy/clientActivity.ts';
import type { Passthrough } from '../proxy/passthrough.ts';
import { loadReadHandlers } from '../reads/loadReadHandlers.ts';
import type { ReadHandlers } from '../reads/types.ts';
import { startShadow } from './shadow/startShadow.ts';
import { startCanary } from './startCanary.ts';
import { comparesReads } from './stages.ts';
import { startReads } from './startReads.ts';

/**
 * Everything that moves reads, in the order each needs the one before: the canary state
 * (followed on this replica; which routes have a handler), the guard (whose window counts
 * every read and comparison), the shadow comparison and the read path on the public port.
 * Each is registered with onClose as it starts, so they stop in the reverse order.
 * `activity` goes to the public server: while an entity is in shadow or canary it counts the
 * requests in flight, and comparisons wait for a moment with none.
 */
export async function startReadSide(opts: {
  config: Config;
  store: EventStore;
  /** Default: the handlers the config's reads name (declarative queries and modules), loaded and checked here. */
  handlers: ReadHandlers | undefined;
  projections: readonly RunnableProjection[];
  spool: { depth(): number };
  agent: http.Agent;
  passthrough: Passthrough;
  /** Streams this replica still holds in its spool (read from legacy until drained). */
  pendingInSpool: (streamId: string) => boolean;
  guard?: Pick<StartGuardOptions, 'stableMs' | 'webhookBackoffMs' | 'replica'>;
  metrics: Metrics;
  logger: Logger;
  onClose: (name: string, fn: () => unknown) => void;
}) {
  const { config, store, metrics, logger, onClose } = opts;
  const handlers = opts.handlers ?? (await loadReadHandlers(config.entities, { db: store.db }));
  const activity = createClientActivity();
  const comparing = new Set<string>(); // entities whose reads may be compared
  const canary = await startCanary({
    ...{ db: store.db, config, logger, metrics, handlers },
    onChange: (s) => {
      if (comparesReads(s.stage)) comparing.add(s.entity);
      else comparing.delete(s.entity);
      activity.tracking = comparing.size > 0;
    },
  });
  onClose('canary state', () => canary.stop());
  const guard = startGuard({ ...opts.guard, store, config, logger, metrics, projections: opts.projections, canary, spool: opts.spool });
  onClose('guard', () => guard.stop());
  const shadow = startShadow({ config, handlers, db: store.db, agent: opts.agent, activity, metrics, logger, stats: guard.stats });
  onClose('shadow comparisons', () => shadow.shadow.stop()); // before the event store and the agent close
  const projectionNames: Record<string, string> = Object.fromEntries(
    opts.projections.flatMap((p) => ('entity' in p && typeof p.entity === 'string' ? [[p.entity, p.module.name]] : [])),
  );
  const reads = await startReads({
    ...{ config, store, handlers, follower: canary.follower, passthrough: opts.passthrough, projectionNames, metrics, logger },
    ...{ pendingInSpool: opts.pendingInSpool, shadow: shadow.shadow, stats: guard.stats },
  });
  onClose('read path', () => reads.stop());
  return { canary, guard, shadow, reads, projectionNames, activity };
}
