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
import { abandonQueued, QUEUED_HEARTBEAT_MS, recordEarlyFailure, touchQueued } from './store/runQueue.ts';

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
  run(opts?: RunRequest): Promise<EntityResult[]>;
  plan(entity: string): Promise<EntityPlan>;
  entities(): string[];
  /** Who runs claim runs as (host:pid), recorded with each run. */
  readonly owner: string;
}

export interface RunRequest {
  entity?: string;
  trigger?: string;
  signal?: AbortSignal;
  /** Rows the admin API recorded for this request, by entity (store/runQueue.ts). */
  queued?: ReadonlyMap<string, number>;
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

  /** Everything a run needs before its first row is read (the legacy database answers here first). */
  async function prepare(entity: string) {
    const p = await plan(entity);
    const reader = await createLegacyReader(deps.legacy, settings.statementTimeoutMs);
    const pre =
      settings.prefilter === 'off'
        ? { prefilter: null, status: { enabled: false, reason: 'prefilter: off in the configuration' } }
        : await createSqlPrefilter(p, deps.legacy, deps.store, (sql, params) => reader.query<unknown[]>(sql, params));
    return { plan: p, reader, prefilter: pre.prefilter, prefilterStatus: pre.status };
  }

  /** One entity's run; null when it was stopped by the signal (its run stays to be resumed). */
  async function runEntity(entity: string, opts: RunRequest, trigger: string): Promise<EntityResult | null> {
    const queuedRunId = opts.queued?.get(entity);
    const failed = (err: unknown) => {
      const error = err instanceof Error ? err : new Error(String(err));
      deps.logger?.error({ entity, err: error.message }, 'reconciliation failed');
      deps.onError?.(entity, error);
      return { entity, error };
    };
    let prepared;
    try {
      prepared = await prepare(entity);
    } catch (err) {
      if (opts.signal?.aborted) return null;
      // Before the run has a row of its own: record it failed, so the run list shows it.
      const result = failed(err);
      await recordEarlyFailure(deps.store, {
        entity,
        trigger,
        owner,
        error: result.error.message,
        ...(queuedRunId !== undefined ? { queuedRunId } : {}),
      }).catch((e: Error) => deps.logger?.error({ entity, err: e.message }, 'could not record the failed reconciliation run'));
      return result;
    }
    try {
      const outcome = await runReconciliation({
        ...prepared,
        legacy: deps.legacy,
        store: deps.store,
        settings,
        owner,
        trigger,
        ...(queuedRunId !== undefined ? { queuedRunId } : {}),
        ...(deps.logger ? { logger: deps.logger } : {}),
        ...(deps.afterChunk ? { afterChunk: deps.afterChunk } : {}),
        ...(deps.sleep ? { sleep: deps.sleep } : {}),
        ...(deps.staleMs !== undefined ? { staleMs: deps.staleMs } : {}),
        ...(deps.busyWaitMs !== undefined ? { busyWaitMs: deps.busyWaitMs } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      if (outcome.kind === 'finished') deps.onReport?.(outcome.report);
      return { entity, outcome };
    } catch (err) {
      if (opts.signal?.aborted) return null;
      // A claimed run recorded its failure itself; a queued one that was never claimed is failed here.
      const result = failed(err);
      if (queuedRunId !== undefined) await abandonQueued(deps.store, [queuedRunId], result.error.message).catch(() => {});
      return result;
    }
  }

  return {
    entities,
    plan,
    owner,
    async run(opts = {}) {
      const names = opts.entity ? [opts.entity] : entities();
      const trigger = opts.trigger ?? 'manual';
      const results: EntityResult[] = [];
      // Queued rows waiting behind earlier entities show they are still wanted: a client waiting
      // on one (and the next claim of its entity) tells them from rows whose sidecar went away.
      const queuedIds = [...(opts.queued?.values() ?? [])];
      const keepQueued = queuedIds.length
        ? setInterval(() => void touchQueued(deps.store, queuedIds).catch(() => {}), QUEUED_HEARTBEAT_MS)
        : null;
      keepQueued?.unref();
      try {
        for (const entity of names) {
          const result = opts.signal?.aborted ? null : await runEntity(entity, opts, trigger);
          if (!result) break;
          results.push(result);
        }
      } finally {
        if (keepQueued) clearInterval(keepQueued);
      }
      const left = names.filter((e) => !results.some((r) => r.entity === e)).flatMap((e) => opts.queued?.get(e) ?? []);
      await abandonQueued(deps.store, left, 'the sidecar stopped before this run started').catch(() => {});
      return results;
    },
  };
}
