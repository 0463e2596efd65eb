import { hostname } from 'node:os';
import { projectionOwner } from '../config/entitySchema.ts';
import type { ConfigSpec } from '../config/schema.ts';
import type { Executor } from '../db/executor.ts';
import { StranglerError } from '../errors/StranglerError.ts';
import type { Logger } from '../logging/logger.ts';
import type { RegisteredProjection } from '../projections/registry.ts';
import { planEntity, type EntityPlan } from './engine/entityPlan.ts';
import { createSqlPrefilter } from './prefilter/sqlPrefilter.ts';
import { createLegacyReader } from './engine/legacyLimits.ts';
import { runReconciliation, type RunOutcome } from './engine/runReconciliation.ts';
import type { ReconcileReport } from './report/types.ts';

export interface ReconcilerDeps {
  config: Pick<ConfigSpec, 'entities' | 'reconciliation'>;
  /** The legacy database (MySQL/MariaDB or PostgreSQL). */
  legacy: Executor;
  /** The event store database: read models, checkpoints, reports. */
  store: Executor;
  /** Which projection builds each entity's read model (its checkpoint and served tables); default: one named like the entity. */
  projections: readonly { entity?: string; module: Pick<RegisteredProjection['module'], 'name'> }[];
  owner?: string;
  logger?: Logger;
  /** Called with every finished report (metrics, the guard later). */
  onReport?: (report: ReconcileReport) => void;
  /** Called when a run of an entity ends in an error (metrics). */
  onError?: (entity: string, err: Error) => void;
  /** Test hook, passed to each run. */
  afterChunk?: (chunks: number) => void | Promise<void>;
  sleep?: (ms: number) => Promise<void>;
  /** A run whose owner has not renewed it for this long is taken over (default 60 s). */
  staleMs?: number;
  /** Longest pause for a busy legacy database before a chunk is skipped (default 60 s). */
  busyWaitMs?: number;
}

export type EntityResult = { entity: string; outcome: RunOutcome } | { entity: string; error: StranglerError | Error };

export interface Reconciler {
  /** Runs every entity (or one), one after the other. Errors are per entity, never thrown for the batch. */
  run(opts?: { entity?: string; trigger?: string; signal?: AbortSignal }): Promise<EntityResult[]>;
  plan(entity: string): Promise<EntityPlan>;
  entities(): string[];
}

export function createReconciler(deps: ReconcilerDeps): Reconciler {
  const owner = deps.owner ?? `${hostname()}:${process.pid}`;
  const settings = deps.config.reconciliation;
  const entities = () => Object.keys(deps.config.entities);

  async function plan(entity: string): Promise<EntityPlan> {
    const config = deps.config.entities[entity];
    if (!config)
      throw new StranglerError('unknown_entity', `No entity "${entity}" in the spec; known: ${entities().join(', ') || '(none)'}.`, {
        status: 400,
      });
    // `projection: of:orders`: the read model is a table of the orders entity's projection.
    const builder = projectionOwner(config.projection) ?? entity;
    const projection = deps.projections.find((p) => p.entity === builder)?.module.name ?? builder;
    return planEntity({ entity, config, projection, legacy: deps.legacy, store: deps.store, settings });
  }

  return {
    entities,
    plan,
    async run(opts = {}) {
      const names = opts.entity ? [opts.entity] : entities();
      const results: EntityResult[] = [];
      for (const entity of names) {
        if (opts.signal?.aborted) break;
        try {
          const p = await plan(entity);
          const reader = await createLegacyReader(deps.legacy, settings.statementTimeoutMs);
          const pre =
            settings.prefilter === 'off'
              ? { prefilter: null, status: { enabled: false, reason: 'prefilter: off in the configuration' } }
              : await createSqlPrefilter(p, deps.legacy, deps.store, (sql, params) => reader.query<unknown[]>(sql, params));
          const outcome = await runReconciliation({
            plan: p,
            legacy: deps.legacy,
            store: deps.store,
            settings,
            reader,
            owner,
            trigger: opts.trigger ?? 'manual',
            prefilter: pre.prefilter,
            prefilterStatus: pre.status,
            ...(deps.logger ? { logger: deps.logger } : {}),
            ...(deps.afterChunk ? { afterChunk: deps.afterChunk } : {}),
            ...(deps.sleep ? { sleep: deps.sleep } : {}),
            ...(deps.staleMs !== undefined ? { staleMs: deps.staleMs } : {}),
            ...(deps.busyWaitMs !== undefined ? { busyWaitMs: deps.busyWaitMs } : {}),
            ...(opts.signal ? { signal: opts.signal } : {}),
          });
          if (outcome.kind === 'finished') deps.onReport?.(outcome.report);
          results.push({ entity, outcome });
        } catch (err) {
          if (opts.signal?.aborted) break;
          const error = err instanceof Error ? err : new Error(String(err));
          deps.logger?.error({ entity, err: error.message }, 'reconciliation failed');
          deps.onError?.(entity, error);
          results.push({ entity, error });
        }
      }
      return results;
    },
  };
}
