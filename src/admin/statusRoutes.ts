import type http from 'node:http';
import type { Logger } from 'pino';
import type { EntityConfig, ResolvedAdminToken } from '../config/schema.ts';
import { projectionOwner } from '../config/entitySchema.ts';
import type { EventStore } from '../eventstore/index.ts';
import { listRuns } from '../reconcile/store/runs.ts';
import { json, type Readiness } from './adminServer.ts';
import type { ProjectionView } from './projectionRoutes.ts';
import { answer, requireRole, sendProblem } from './routeKit.ts';

export interface StatusRoutesOptions {
  readiness: Readiness;
  store: EventStore;
  entities: Readonly<Record<string, EntityConfig>>;
  /** entity → the name of the projection module it runs (entities with `projection: of:X` use X's). */
  projectionNames: Readonly<Record<string, string>>;
  /** The projections as GET /admin/projections lists them. */
  projections: () => Promise<ProjectionView[]>;
  tokens: readonly ResolvedAdminToken[];
  logger: Logger;
  /** The entity's canary state as this replica follows it (stage, percent); absent: dual_write. */
  canary?: (entity: string) => { stage: Exclude<EntityStage, 'passthrough'>; percent: number; paused: boolean };
  /** Longest one part of the answer may take before it is reported as unavailable (default 5 s). */
  partTimeoutMs?: number;
}

/**
 * Where an entity is in the migration lifecycle: its canary stage; `passthrough` for an
 * entity no command of the spec writes (nothing is captured for it, so there is nothing to move).
 */
export type EntityStage = 'passthrough' | 'dual_write' | 'shadow' | 'canary' | 'complete';

export interface EntityStatus {
  name: string;
  stage: EntityStage;
  /** Share of keys read from the read model (canary), 0 at dual_write and shadow, 100 at complete. */
  percent: number;
  /** Promotion held by an operator or the guard. */
  paused: boolean;
  /** The projection whose tables serve this entity's read model. */
  projection: string | null;
  lastReconciliation: {
    runId: number;
    status: string;
    /** within_tolerance | over_tolerance | inconclusive | failed | null while running. */
    verdict: string | null;
    mismatchRate: number | null;
    finishedAt: string | null;
    error: string | null;
  } | null;
}

export interface SidecarStatus {
  ready: boolean;
  /** The upstream as /readyz reports it (null when this sidecar's readiness does not say). */
  upstream: unknown;
  eventStore: { description: string; reachable: boolean; headPosition: number | null; error: string | null };
  spool: Record<string, unknown> | null;
  projections: ProjectionView[] | null;
  projectionsError: string | null;
  entities: EntityStatus[];
  reconciliationsError: string | null;
  generatedAt: string;
}

/**
 * `GET /admin/status` (viewer): one answer for `strangler status`, built from what the
 * sidecar already has: readiness details, the projection rows, the last reconciliation run
 * of each entity. Each part is fetched on its own, so an unreachable store still leaves the
 * rest of the screen (and says what is missing), rather than failing the whole answer.
 */
export function createStatusRoutes(opts: StatusRoutesOptions) {
  // An entity is dual-written when one of its own commands, or its owner's (`of:X`), captures events.
  const stageOf = (name: string, entity: EntityConfig): Pick<EntityStatus, 'stage' | 'percent' | 'paused'> =>
    entity.commands.length > 0 || projectionOwner(entity.projection) !== null
      ? (opts.canary?.(name) ?? { stage: 'dual_write', percent: 0, paused: false })
      : { stage: 'passthrough', percent: 0, paused: false };
  const timeoutMs = opts.partTimeoutMs ?? 5_000;
  const within = <T>(what: string, p: Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not answer within ${timeoutMs} ms`)), timeoutMs);
    });
    return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
  };
  const message = (r: PromiseSettledResult<unknown>) =>
    r.status === 'rejected' ? (r.reason instanceof Error ? r.reason.message : String(r.reason)) : null;

  async function status(): Promise<SidecarStatus> {
    const names = Object.keys(opts.entities);
    const [details, head, projections, runs] = await Promise.allSettled([
      within('readiness', opts.readiness.details()),
      within('the event store', opts.store.headPosition()),
      within('the projection status', opts.projections()),
      within('the reconciliation runs', Promise.all(names.map((entity) => listRuns(opts.store.db, { entity, limit: 1 })))),
    ]);
    const d = details.status === 'fulfilled' ? details.value : {};
    const spool = d.spool;
    return {
      ready: opts.readiness.ready(),
      upstream: d.upstream ?? null,
      eventStore: {
        description: opts.store.description,
        reachable: head.status === 'fulfilled',
        headPosition: head.status === 'fulfilled' ? head.value : null,
        error: message(head),
      },
      spool: spool && typeof spool === 'object' ? (spool as Record<string, unknown>) : null,
      projections: projections.status === 'fulfilled' ? projections.value : null,
      projectionsError: message(projections),
      entities: names.map((name, i) => {
        const entity = opts.entities[name]!;
        const run = runs.status === 'fulfilled' ? runs.value[i]?.[0] : undefined;
        // Verdicts are read defensively: a failed run may carry no report, a newer one may name
        // verdicts this file does not know yet (inconclusive, failed): they are passed on as they are.
        const verdict = run?.report?.verdict ?? (run?.status === 'failed' ? 'failed' : null);
        return {
          name,
          ...stageOf(name, entity),
          projection: opts.projectionNames[projectionOwner(entity.projection) ?? name] ?? null,
          lastReconciliation: run
            ? {
                runId: run.runId,
                status: run.status,
                verdict: verdict ?? null,
                mismatchRate: typeof run.report?.mismatchRate === 'number' ? run.report.mismatchRate : null,
                finishedAt: run.finishedAt,
                error: run.error,
              }
            : null,
        };
      }),
      reconciliationsError: message(runs),
      generatedAt: new Date().toISOString(),
    };
  }

  return (req: http.IncomingMessage, res: http.ServerResponse): boolean => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/admin/status' && path !== '/admin/status/') return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendProblem(res, 405, 'method_not_allowed', 'GET /admin/status shows the sidecar at a glance.', { allow: 'GET' });
      return true;
    }
    if (!requireRole(req, res, opts.tokens, 'viewer')) return true;
    answer(res, opts.logger, 'admin status', async () => json(res, 200, await status()));
    return true;
  };
}
