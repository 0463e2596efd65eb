import type http from 'node:http';
import type { Logger } from 'pino';
import type { ResolvedAdminToken } from '../config/schema.ts';
import type { Executor } from '../db/executor.ts';
import { renderReportHtml, renderRunListHtml } from '../reconcile/report/html.ts';
import type { ReconcileScheduler } from '../reconcile/schedule.ts';
import { getRun, listRuns } from '../reconcile/store/runs.ts';
import { abandonQueued, queueRuns } from '../reconcile/store/runQueue.ts';
import { json } from './adminServer.ts';
import { authorize, type AdminRole } from './auth.ts';
import { problem, readJsonObject } from './problem.ts';
import { unknownFields } from './routeKit.ts';
import { handleRepair, type RepairFn } from './reconciliationRepair.ts';

export interface ReconciliationRoutesOptions {
  store: Executor;
  scheduler: ReconcileScheduler;
  entities: readonly string[];
  tokens: readonly ResolvedAdminToken[];
  logger: Logger;
  /** Who runs the reconciliations (the reconciler's owner): queued rows are recorded under it. */
  owner: string;
  /** Plans (dry run) or appends the corrective events of a finished run (POST /admin/reconciliations/ID/repair). */
  repair?: RepairFn;
}

function html(res: http.ServerResponse, text: string): void {
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

function wantsHtml(req: http.IncomingMessage, url: URL): boolean {
  const format = url.searchParams.get('format');
  if (format) return format === 'html';
  return /text\/html/.test(req.headers.accept ?? '') && !/application\/json/.test(req.headers.accept ?? '');
}

/**
 * `/admin/reconciliations`: list (GET), start (POST, operator), one run's report
 * (`/admin/reconciliations/ID`), as JSON or, with `?format=html` or `Accept: text/html`, as a
 * page, and a finished run's repair (`POST /admin/reconciliations/ID/repair`, operator).
 * Returns false for paths it does not own.
 */
export function createReconciliationRoutes(opts: ReconciliationRoutesOptions) {
  return (req: http.IncomingMessage, res: http.ServerResponse): boolean => {
    const url = new URL(req.url ?? '/', 'http://admin');
    const m = /^\/admin\/reconciliations(?:\/([^/]+)(\/repair)?)?\/?$/.exec(url.pathname);
    if (!m) return false;
    const id = m[1];
    const repair = m[2] !== undefined;
    const method = req.method ?? 'GET';
    const need: AdminRole = method === 'POST' ? 'operator' : 'viewer';
    const allowed = repair ? ['POST'] : id === undefined ? ['GET', 'HEAD', 'POST'] : ['GET', 'HEAD'];
    if (!allowed.includes(method)) {
      const what = repair
        ? 'POST repairs from a finished run.'
        : id === undefined
          ? 'GET lists runs, POST starts one.'
          : 'GET shows a run.';
      json(res, 405, problem(405, 'method_not_allowed', what), { allow: allowed.filter((a) => a !== 'HEAD').join(', ') });
      return true;
    }
    const auth = authorize(req, opts.tokens, need);
    if (!auth.ok) {
      json(
        res,
        auth.status,
        problem(auth.status, auth.status === 401 ? 'unauthorized' : 'forbidden', auth.detail),
        auth.status === 401 ? { 'www-authenticate': 'Bearer' } : {},
      );
      return true;
    }
    const work = repair ? handleRepair(opts, req, res, id!, auth.token) : handle(opts, req, res, url, id, auth.token);
    void work.catch((err: Error) => {
      opts.logger.error({ err: err.message }, 'admin reconciliation request failed');
      if (!res.headersSent) json(res, 500, problem(500, 'internal_error', err.message));
    });
    return true;
  };
}

async function handle(
  opts: ReconciliationRoutesOptions,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  url: URL,
  id: string | undefined,
  token: string,
): Promise<void> {
  if (req.method === 'POST') {
    const body = await readJsonObject(req, res, '{"entity": "orders"} (or {} for every entity)');
    if (!body) return;
    const extra = unknownFields(body, ['entity'], '{"entity": "orders"}');
    if (extra) return json(res, 400, problem(400, 'bad_request', extra));
    const { entity } = body;
    if (entity !== undefined && (typeof entity !== 'string' || !opts.entities.includes(entity))) {
      return json(
        res,
        400,
        problem(
          400,
          'unknown_entity',
          `"entity" must be one of ${opts.entities.join(', ') || '(none configured)'}; got ${JSON.stringify(entity)}.`,
        ),
      );
    }
    if (opts.scheduler.running())
      return json(
        res,
        409,
        problem(
          409,
          'reconciliation_in_progress',
          'a reconciliation run is already in progress in this sidecar; see GET /admin/reconciliations.',
        ),
      );
    const trigger = `admin:${token}`;
    const entities = typeof entity === 'string' ? [entity] : [...opts.entities];
    // Recorded before they start: the answer names them, and one that fails early stays listed as failed.
    const runs = await queueRuns(opts.store, { entities, trigger, owner: opts.owner });
    const started = opts.scheduler.trigger({
      ...(typeof entity === 'string' ? { entity } : {}),
      trigger,
      queued: new Map(runs.map((r) => [r.entity, r.runId])),
    });
    if (!started.accepted) {
      await abandonQueued(
        opts.store,
        runs.map((r) => r.runId),
        `not started: ${started.reason}`,
      );
      return json(res, 409, problem(409, 'reconciliation_in_progress', `${started.reason}; see GET /admin/reconciliations.`));
    }
    started.done.catch(() => {}); // failures are stored with the run and logged by the reconciler
    opts.logger.info({ token, entity: entity ?? 'all', runs: runs.map((r) => r.runId) }, 'reconciliation started from the admin API');
    return json(
      res,
      202,
      {
        status: 'started',
        entities,
        trigger,
        runs: runs.map((r) => ({ ...r, status: 'queued', url: `/admin/reconciliations/${r.runId}` })),
        list: '/admin/reconciliations',
      },
      { location: runs.length === 1 ? `/admin/reconciliations/${runs[0]!.runId}` : '/admin/reconciliations' },
    );
  }
  if (id === undefined) {
    const entity = url.searchParams.get('entity') ?? undefined;
    const limitText = url.searchParams.get('limit') ?? '50';
    const limit = Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
      return json(res, 400, problem(400, 'bad_request', `limit must be an integer from 1 to 1000, got "${limitText}".`));
    if (entity !== undefined && !opts.entities.includes(entity))
      return json(res, 400, problem(400, 'unknown_entity', `entity must be one of ${opts.entities.join(', ')}; got "${entity}".`));
    const runs = await listRuns(opts.store, { ...(entity ? { entity } : {}), limit });
    if (wantsHtml(req, url)) return html(res, renderRunListHtml(runs));
    return json(res, 200, {
      runs: runs.map(({ report, ...r }) => ({
        ...r,
        mismatchRate: report?.mismatchRate ?? null,
        verdict: report?.verdict ?? null,
        verdictReason: report?.verdictReason ?? null,
        legacyRows: report?.legacyRows ?? null,
        readModelRows: report?.readModelRows ?? null,
      })),
    });
  }
  if (!/^[1-9]\d{0,15}$/.test(id))
    return json(res, 400, problem(400, 'bad_request', `A run id is a positive integer, got "${id}". Example: /admin/reconciliations/12`));
  const run = await getRun(opts.store, Number(id));
  if (!run) return json(res, 404, problem(404, 'not_found', `No reconciliation run ${id}; GET /admin/reconciliations lists them.`));
  if (wantsHtml(req, url)) return html(res, renderReportHtml(run));
  return json(res, 200, run);
}
