import type http from 'node:http';
import type { Logger } from 'pino';
import type { ResolvedAdminToken } from '../config/schema.ts';
import type { EventStore } from '../eventstore/index.ts';
import { ProjectionStateError, UnknownProjectionError } from '../projections/runner/errors.ts';
import { pauseByOperator, resumeProjection, skipFailedEvent } from '../projections/runner/operations.ts';
import { listProjections, readProjection, registerProjection } from '../projections/runner/projectionRow.ts';
import { rebuildProjection, type RebuildProgress } from '../projections/runner/rebuild.ts';
import { projectionStatus, type ProjectionStatus } from '../projections/runner/status.ts';
import type { RunnableProjection } from '../projections/runner/workers.ts';
import { json } from './adminServer.ts';
import { answer, BadRequest, readJsonObject, requireRole, sendProblem, unknownFields } from './routeKit.ts';

export interface ProjectionRoutesOptions {
  store: EventStore;
  /** The projections this sidecar runs (rebuild needs the module; status lists those never started). */
  projections: readonly RunnableProjection[];
  tokens: readonly ResolvedAdminToken[];
  logger: Logger;
  /** Rebuild owner id (shown in status), e.g. the runners' host:pid:random. */
  owner: string;
}

/** A rebuild started from this sidecar's admin API, as this sidecar last saw it. */
export interface RebuildJob {
  state: 'running' | 'done' | 'failed';
  startedAt: string;
  finishedAt: string | null;
  startedBy: string;
  progress: RebuildProgress | null;
  error: string | null;
}

export type ProjectionView = ProjectionStatus & { lastRebuild: RebuildJob | null };

export interface ProjectionRoutes {
  (req: http.IncomingMessage, res: http.ServerResponse): boolean;
  /** Every projection with its state, lag and pause/failure/rebuild details. */
  list(): Promise<ProjectionView[]>;
  /** Stops rebuilds in flight between batches (they resume on the next rebuild). */
  stop(): Promise<void>;
}

const ACTIONS = ['pause', 'resume', 'skip', 'rebuild'] as const;
type Action = (typeof ACTIONS)[number];
const MAX_BODY = 16 * 1024;
const MAX_REASON = 500;
const EXAMPLE = '{"reason": "investigating a bad deploy"}';

/**
 * `/admin/projections`: GET lists (viewer), GET `/admin/projections/NAME` shows one, and
 * POST `/admin/projections/NAME/pause|resume|skip|rebuild` (operator, body `{"reason"?}`)
 * changes one. The state lives in the projection row, so a change made here holds on every
 * replica. Rebuild answers 202 and runs in the background; GET shows its progress.
 */
export function createProjectionRoutes(opts: ProjectionRoutesOptions): ProjectionRoutes {
  const { store, logger } = opts;
  const rebuilds = new Map<string, { job: RebuildJob; done: Promise<void> }>();
  const abort = new AbortController();

  const list = async (): Promise<ProjectionView[]> =>
    (await projectionStatus(store, { modules: opts.projections.map((p) => p.module) })).map((p) => ({
      ...p,
      lastRebuild: rebuilds.get(p.name)?.job ?? null,
    }));

  /** Known names: rows in the store and modules this sidecar runs; anything else is a 404. */
  const resolve = async (name: string): Promise<void> => {
    const rows = await listProjections(store.db);
    if (rows.some((r) => r.name === name)) return;
    const configured = opts.projections.find((p) => p.module.name === name);
    if (!configured)
      throw new UnknownProjectionError(name, [...new Set([...rows.map((r) => r.name), ...opts.projections.map((p) => p.module.name)])]);
    // Configured but no runner has claimed it yet: give it its row, so a pause holds from the start.
    await registerProjection(store.db, configured.module, await store.epoch());
  };

  async function act(action: Action, name: string, by: string, reason: string | null): Promise<{ status: number; body: unknown }> {
    await resolve(name);
    switch (action) {
      case 'pause': {
        const row = await pauseByOperator(store.db, name, by, reason);
        logger.warn({ projection: name, by, reason }, 'projection paused by an operator');
        return { status: 200, body: { projection: name, state: 'paused', pause: row.pause, position: row.checkpoint.position } };
      }
      case 'resume': {
        const row = await resumeProjection(store.db, name);
        logger.info({ projection: name, by, reason }, 'projection resumed by an operator');
        return { status: 200, body: { projection: name, state: 'running', position: row.checkpoint.position } };
      }
      case 'skip': {
        const skipped = await skipFailedEvent(store, name, by);
        logger.warn({ projection: name, by, reason, eventId: skipped.eventId }, 'failing event moved to dead letters by an operator');
        return { status: 200, body: { projection: name, state: 'running', skipped } };
      }
      case 'rebuild':
        return startRebuild(name, by, reason);
    }
  }

  async function startRebuild(name: string, by: string, reason: string | null): Promise<{ status: number; body: unknown }> {
    const found = opts.projections.find((p) => p.module.name === name);
    if (!found)
      throw new ProjectionStateError(
        `Projection "${name}" is not run by this sidecar, so it has no module to rebuild from; rebuild it where it runs.`,
      );
    if (rebuilds.get(name)?.job.state === 'running')
      throw new ProjectionStateError(`Projection "${name}" is already being rebuilt from this sidecar.`);
    const row = await readProjection(store.db, name);
    if (row?.rebuild?.owner && row.rebuild.expiresAt && Date.parse(row.rebuild.expiresAt) > Date.now())
      throw new ProjectionStateError(
        `Projection "${name}" is already being rebuilt by ${row.rebuild.owner}; GET /admin/projections/${name} shows its progress.`,
      );
    const job: RebuildJob = {
      state: 'running',
      startedAt: new Date().toISOString(),
      finishedAt: null,
      startedBy: by,
      progress: null,
      error: null,
    };
    logger.info({ projection: name, by, reason, version: found.module.version }, 'projection rebuild started by an operator');
    const done = rebuildProjection({
      store,
      module: found.module,
      ...(found.upcasters ? { upcast: (e) => found.upcasters!.upcast(e) } : {}),
      owner: opts.owner,
      batchSize: 1000,
      signal: abort.signal,
      onProgress: (p) => (job.progress = p),
    }).then(
      (result) => {
        Object.assign(job, { state: 'done', finishedAt: new Date().toISOString() });
        logger.info(
          { projection: name, position: result.position, applied: result.applied },
          'projection rebuild switched to the new tables',
        );
      },
      (err: Error) => {
        Object.assign(job, { state: 'failed', finishedAt: new Date().toISOString(), error: err.message });
        logger.error({ projection: name, err: err.message }, 'projection rebuild failed');
      },
    );
    rebuilds.set(name, { job, done });
    return {
      status: 202,
      body: { projection: name, state: 'rebuilding', version: found.module.version, status: `/admin/projections/${name}` },
    };
  }

  const route = (req: http.IncomingMessage, res: http.ServerResponse): boolean => {
    const url = new URL(req.url ?? '/', 'http://admin');
    const m = /^\/admin\/projections(?:\/([^/]+)(?:\/([^/]+))?)?\/?$/.exec(url.pathname);
    if (!m) return false;
    const name = m[1] === undefined ? undefined : safeDecode(m[1]);
    const action = m[2];
    const method = req.method ?? 'GET';
    if (action !== undefined) {
      if (!(ACTIONS as readonly string[]).includes(action)) {
        sendProblem(
          res,
          404,
          'not_found',
          `No projection action "${action}"; POST /admin/projections/${name}/ takes one of ${ACTIONS.join(', ')}.`,
        );
        return true;
      }
      if (method !== 'POST') {
        sendProblem(res, 405, 'method_not_allowed', `POST /admin/projections/${name}/${action} changes the projection.`, { allow: 'POST' });
        return true;
      }
    } else if (method !== 'GET' && method !== 'HEAD') {
      sendProblem(
        res,
        405,
        'method_not_allowed',
        'GET shows projections; changes are POST /admin/projections/NAME/pause|resume|skip|rebuild.',
        {
          allow: 'GET',
        },
      );
      return true;
    }
    const auth = requireRole(req, res, opts.tokens, action === undefined ? 'viewer' : 'operator');
    if (!auth) return true;
    answer(res, logger, 'admin projection request', async () => {
      if (action === undefined) {
        const all = await list();
        if (name === undefined) return json(res, 200, { projections: all });
        const one = all.find((p) => p.name === name);
        if (!one)
          throw new UnknownProjectionError(
            name,
            all.map((p) => p.name),
          );
        return json(res, 200, one);
      }
      const body = await readJsonObject(req, MAX_BODY, EXAMPLE);
      const extra = unknownFields(body, ['reason'], EXAMPLE);
      if (extra) throw new BadRequest(extra);
      const { reason } = body;
      if (reason !== undefined && (typeof reason !== 'string' || reason.length > MAX_REASON))
        throw new BadRequest(`"reason" must be a string of at most ${MAX_REASON} characters. Example: ${EXAMPLE}`);
      const out = await act(action as Action, name!, `admin:${auth.token}`, reason?.trim() || null);
      json(res, out.status, out.body, out.status === 202 ? { location: `/admin/projections/${name}` } : {});
    });
    return true;
  };

  return Object.assign(route, {
    list,
    async stop() {
      abort.abort();
      await Promise.all([...rebuilds.values()].map((r) => r.done));
    },
  });
}

/** A malformed %-escape is kept as written (and then is an unknown projection), never a thrown URIError. */
function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
