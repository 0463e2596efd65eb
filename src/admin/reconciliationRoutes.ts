import type http from 'node:http';
import type { Logger } from 'pino';
import type { ResolvedAdminToken } from '../config/schema.ts';
import type { Executor } from '../db/executor.ts';
import { renderReportHtml, renderRunListHtml } from '../reconcile/report/html.ts';
import type { ReconcileScheduler } from '../reconcile/schedule.ts';
import { getRun, listRuns } from '../reconcile/store/runs.ts';
import { BodyTooLargeError, readBody } from '../proxy/readBody.ts';
import { json } from './adminServer.ts';
import { authorize, type AdminRole } from './auth.ts';

export interface ReconciliationRoutesOptions {
  store: Executor;
  scheduler: ReconcileScheduler;
  entities: readonly string[];
  tokens: readonly ResolvedAdminToken[];
  logger: Logger;
}

const MAX_BODY = 64 * 1024;

function html(res: http.ServerResponse, text: string): void {
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

const problem = (status: number, title: string, detail: string) => ({
  type: `https://strangler-sidecar.dev/problems/${title}`,
  title,
  status,
  detail,
});

function wantsHtml(req: http.IncomingMessage, url: URL): boolean {
  const format = url.searchParams.get('format');
  if (format) return format === 'html';
  return /text\/html/.test(req.headers.accept ?? '') && !/application\/json/.test(req.headers.accept ?? '');
}

/**
 * `/admin/reconciliations`: list (GET), start (POST, operator), and one run's report
 * (`/admin/reconciliations/ID`), as JSON or, with `?format=html` or `Accept: text/html`, as a page.
 * Returns false for paths it does not own.
 */
export function createReconciliationRoutes(opts: ReconciliationRoutesOptions) {
  return (req: http.IncomingMessage, res: http.ServerResponse): boolean => {
    const url = new URL(req.url ?? '/', 'http://admin');
    const m = /^\/admin\/reconciliations(?:\/([^/]+))?\/?$/.exec(url.pathname);
    if (!m) return false;
    const id = m[1];
    const method = req.method ?? 'GET';
    const need: AdminRole = method === 'POST' ? 'operator' : 'viewer';
    if (!['GET', 'HEAD', 'POST'].includes(method) || (method === 'POST' && id !== undefined)) {
      json(res, 405, problem(405, 'method_not_allowed', id === undefined ? 'GET lists runs, POST starts one.' : 'GET shows a run.'), {
        allow: id === undefined ? 'GET, POST' : 'GET',
      });
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
    void handle(opts, req, res, url, id, auth.token).catch((err: Error) => {
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
    let body: unknown;
    try {
      const text = (await readBody(req, MAX_BODY)).toString('utf8');
      body = text.trim() === '' ? {} : JSON.parse(text);
    } catch (err) {
      const tooLarge = err instanceof BodyTooLargeError;
      return json(
        res,
        tooLarge ? 413 : 400,
        problem(
          tooLarge ? 413 : 400,
          'bad_request',
          tooLarge
            ? `The body is over ${MAX_BODY} bytes.`
            : `The body is not JSON: ${(err as Error).message}. Example: {"entity": "orders"}`,
        ),
      );
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      return json(
        res,
        400,
        problem(400, 'bad_request', 'The body must be a JSON object. Example: {"entity": "orders"} (or {} for every entity).'),
      );
    const { entity, ...rest } = body as Record<string, unknown>;
    if (Object.keys(rest).length)
      return json(
        res,
        400,
        problem(
          400,
          'bad_request',
          `Unknown field(s) ${Object.keys(rest).join(', ')}; the body takes only "entity". Example: {"entity": "orders"}`,
        ),
      );
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
    const started = opts.scheduler.trigger({ ...(entity ? { entity } : {}), trigger: `admin:${token}` });
    if (!started.accepted)
      return json(res, 409, problem(409, 'reconciliation_in_progress', `${started.reason}; see GET /admin/reconciliations.`));
    started.done.catch(() => {}); // failures are stored with the run and logged by the reconciler
    opts.logger.info({ token, entity: entity ?? 'all' }, 'reconciliation started from the admin API');
    return json(
      res,
      202,
      { status: 'started', entities: entity ? [entity] : opts.entities, trigger: `admin:${token}`, runs: '/admin/reconciliations' },
      { location: '/admin/reconciliations' },
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
