import http from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';

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

/**
 * The admin port, separate from the public one: probes and metrics. Operator endpoints
 * (behind bearer tokens) join here as later parts of the product land.
 */
export function createAdminServer(opts: AdminServerOptions): http.Server {
  const probes = ['/healthz', '/readyz', ...(opts.eventStoreHealth ? ['/health/event-store'] : []), '/metrics'];
  const endpoints = [...probes, ...(opts.endpoints ?? [])];
  return http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    for (const route of opts.routes ?? []) if (route(req, res)) return;
    if (req.method !== 'GET' && req.method !== 'HEAD' && probes.includes(path))
      return json(res, 405, { title: 'method_not_allowed', status: 405, detail: `${path} answers GET.` }, { allow: 'GET' });
    switch (path) {
      case '/healthz':
        return json(res, 200, { status: 'ok' });
      case '/readyz':
        void opts.readiness.details().then(
          (details) =>
            json(res, opts.readiness.ready() ? 200 : 503, { status: opts.readiness.ready() ? 'ready' : 'not_ready', ...details }),
          (err: Error) => json(res, 503, { status: 'not_ready', error: err.message }),
        );
        return;
      case '/health/event-store': {
        const health = opts.eventStoreHealth;
        if (!health)
          return json(res, 404, {
            title: 'not_found',
            status: 404,
            detail: 'The event store health check is not enabled on this sidecar.',
          });
        void health().then(
          (h) => json(res, h.ok ? 200 : 503, { status: h.ok ? 'healthy' : 'unhealthy', ...h }),
          (err: Error) => {
            opts.logger.error({ err }, 'event store health check failed');
            json(res, 503, { status: 'error', ok: false, error: err.message });
          },
        );
        return;
      }
      case '/metrics':
        void opts.registry.metrics().then(
          (text) => {
            res.writeHead(200, { 'content-type': opts.registry.contentType });
            res.end(text);
          },
          (err: Error) => {
            opts.logger.error({ err }, 'metrics collection failed');
            json(res, 500, { title: 'metrics_failed', status: 500, detail: err.message });
          },
        );
        return;
      default:
        // The list is what this sidecar serves, never the path just asked for (a 404 that
        // suggests the very path it refused sends the reader in a circle).
        return json(res, 404, {
          title: 'not_found',
          status: 404,
          detail: `No admin endpoint at ${path}. This sidecar serves ${endpoints.filter((e) => e !== path).join(', ')}.`,
        });
    }
  });
}
