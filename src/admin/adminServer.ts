import http from 'node:http';
import express from 'express';
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import { problemMiddleware } from './problemMiddleware.ts';

export interface Readiness {
  /** Ready to take traffic: listening, not shutting down. Spooling is still ready. */
  ready(): boolean;
  /** Details shown on /readyz (spool depth, event store reachability, …). */
  details(): Promise<Record<string, unknown>>;
}

export interface AdminServerOptions {
  registry: Registry;
  readiness: Readiness;
  logger: Logger;
  /**
   * `/health/event-store`: the doctor's consistency checks (cached by the caller). 200 when
   * `ok`, 503 otherwise; the rest of the object is the JSON body. Absent: 404.
   */
  eventStoreHealth?: () => Promise<{ ok: boolean } & Record<string, unknown>>;
  /** Operator API handlers (behind bearer tokens); each returns false for paths it does not own. */
  routes?: readonly ((req: http.IncomingMessage, res: http.ServerResponse) => boolean)[];
  /** Express routers of the operator API, mounted at their paths. */
  routers?: readonly AdminRouter[];
  /** Run first on every request, ahead of the routes (the dashboard session: cookie → session, CSRF check). */
  middleware?: readonly express.RequestHandler[];
  /** The paths those routes serve, listed by the 404 answer (e.g. `/admin/status`). */
  endpoints?: readonly string[];
}

export function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

/** An Express router mounted on the admin app (`/admin/canary`…); its errors become problem+json. */
export interface AdminRouter {
  path: string;
  router: express.Router;
}

/**
 * The admin port, separate from the public one: probes, metrics and the operator API, as
 * an Express 5 app (router, JSON body limits, one error middleware answering problem+json).
 * The public port stays plain node:http. Older operator handlers (`routes`) are mounted as
 * middleware ahead of the routers; both sit behind bearer tokens of their own.
 *
 * The probes and /metrics are answered ahead of the app, by plain node:http (`probeHandlers`).
 * They are what calls this port all day (kubelet, Prometheus), and Express changes every
 * request and response it handles: it swaps their prototypes for its own and adds
 * properties. Node's http code, which the passthrough runs on every request, then sees
 * those object shapes beside its own and runs slower for the whole process: bare
 * http-proxy-middleware used ~10 % more CPU per request once the same process had answered
 * a few hundred requests through Express (docs/benchmarks.md, proxy).
 */
export function createAdminServer(opts: AdminServerOptions): http.Server {
  const probes = probeHandlers(opts);
  const endpoints = [...probes.keys()].filter((p) => p !== '/health/event-store' || opts.eventStoreHealth);
  endpoints.push(...(opts.endpoints ?? []));
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // Exact paths, as before Express: /metrics/ and /Metrics are not /metrics.
  app.set('strict routing', true);
  app.set('case sensitive routing', true);
  for (const handler of opts.middleware ?? []) app.use(handler);
  for (const route of opts.routes ?? []) app.use((req, res, next) => (route(req, res) ? undefined : next()));
  for (const { path, router } of opts.routers ?? []) app.use(path, router);
  // The list is what this sidecar serves, never the path just asked for (a 404 that
  // suggests the very path it refused sends the reader in a circle).
  app.use((req, res) =>
    json(res, 404, {
      title: 'not_found',
      status: 404,
      detail: `No admin endpoint at ${req.path}. This sidecar serves ${endpoints.filter((e) => e !== req.path).join(', ')}.`,
    }),
  );
  app.use(problemMiddleware(opts.logger));
  return http.createServer((req, res) => {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const probe = probes.get(query === -1 ? url : url.slice(0, query));
    if (probe === undefined) return void app(req, res);
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return json(res, 405, { title: 'method_not_allowed', status: 405, detail: `${url.split('?')[0]} answers GET.` }, { allow: 'GET' });
    probe(res).catch((err: unknown) => {
      opts.logger.error({ err: err instanceof Error ? err.message : String(err), path: url }, 'admin probe failed');
      if (res.headersSent) res.destroy();
      else json(res, 500, { title: 'internal_error', status: 500, detail: err instanceof Error ? err.message : String(err) });
    });
  });
}

/** GET (and HEAD) of each probe path, answered without Express: `/healthz`, `/readyz`, `/health/event-store`, `/metrics`. */
type Probe = (res: http.ServerResponse) => Promise<void>;

function probeHandlers(opts: AdminServerOptions): Map<string, Probe> {
  const { readiness, logger } = opts;
  const health = opts.eventStoreHealth;
  const probes = new Map<string, Probe>();
  probes.set('/healthz', async (res) => json(res, 200, { status: 'ok' }));
  probes.set('/readyz', async (res) => {
    await readiness.details().then(
      (details) => json(res, readiness.ready() ? 200 : 503, { status: readiness.ready() ? 'ready' : 'not_ready', ...details }),
      (err: Error) => json(res, 503, { status: 'not_ready', error: err.message }),
    );
  });
  if (!health)
    probes.set('/health/event-store', async (res) =>
      json(res, 404, { title: 'not_found', status: 404, detail: 'The event store health check is not enabled on this sidecar.' }),
    );
  else
    probes.set('/health/event-store', async (res) => {
      await health().then(
        (h) => json(res, h.ok ? 200 : 503, { status: h.ok ? 'healthy' : 'unhealthy', ...h }),
        (err: Error) => {
          logger.error({ err }, 'event store health check failed');
          json(res, 503, { status: 'error', ok: false, error: err.message });
        },
      );
    });
  probes.set('/metrics', async (res) => {
    await opts.registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': opts.registry.contentType });
        res.end(text);
      },
      (err: Error) => {
        logger.error({ err }, 'metrics collection failed');
        json(res, 500, { title: 'metrics_failed', status: 500, detail: err.message });
      },
    );
  });
  return probes;
}
