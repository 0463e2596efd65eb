import http from 'node:http';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics/metrics.ts';
import type { ClientActivity } from './clientActivity.ts';
import type { createCommandHandler } from './commandHandler.ts';
import { ensureRequestId } from './requestId.ts';
import type { Classified, RouteTable } from './routeTable.ts';
import type { UpgradeHandler } from './upgrade.ts';

export interface PublicServerOptions {
  routes: RouteTable;
  passthrough: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  command: ReturnType<typeof createCommandHandler>;
  /** Reads of the entities' read routes (src/canary/readPath.ts); default: the passthrough. */
  read?: (req: http.IncomingMessage, res: http.ServerResponse, route: Extract<Classified, { kind: 'read' }>) => void;
  upgrade: UpgradeHandler;
  /** Requests in flight, counted while something waits for a quiet moment (the shadow comparison). */
  activity?: ClientActivity;
  /** `server.maxHeaderBytes`: the largest request head accepted (431 above it). */
  maxHeaderBytes: number;
  metrics?: Metrics;
  logger: Logger;
}

/**
 * The public port: a plain node:http server. Each request is classified once by the
 * compiled route table; passthrough streams to legacy with nothing else on the path, and
 * reads go to the read path (legacy or the read model, by the entity's canary stage).
 */
export function createPublicServer(opts: PublicServerOptions): http.Server {
  const passthroughCount = opts.metrics?.requests.labels({ kind: 'passthrough', status_class: 'any' });
  const readCount = opts.metrics?.requests.labels({ kind: 'read', status_class: 'any' });
  const activity = opts.activity;
  const server = http.createServer({ maxHeaderSize: opts.maxHeaderBytes }, (req, res) => {
    if (activity?.tracking) activity.track(res);
    const route = opts.routes.classify(req.method, req.url);
    if (route.kind === 'passthrough') {
      ensureRequestId(req);
      passthroughCount?.inc();
      opts.passthrough(req, res);
      return;
    }
    if (route.kind === 'read') {
      ensureRequestId(req);
      readCount?.inc();
      if (opts.read) opts.read(req, res, route);
      else opts.passthrough(req, res);
      return;
    }
    const requestId = ensureRequestId(req);
    const end = opts.metrics?.requestDuration.startTimer({ kind: 'command' });
    opts.command(req, res, route, requestId).then(
      () => {
        end?.();
        opts.metrics?.requests.inc({ kind: 'command', status_class: `${Math.floor(res.statusCode / 100)}xx` });
      },
      (err: unknown) => {
        opts.logger.error({ err, requestId }, 'command handler failed');
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'application/problem+json' });
          res.end(
            JSON.stringify({ title: 'sidecar_error', status: 500, detail: 'The sidecar failed while handling this command.', requestId }),
          );
        } else res.destroy();
      },
    );
  });
  // Requests with `Connection: upgrade` and an `Upgrade` header (WebSocket) come here instead.
  server.on('upgrade', (req: http.IncomingMessage, socket, head: Buffer) => {
    const route = opts.routes.classify(req.method, req.url);
    if (route.kind === 'command') opts.upgrade.refuse(req, socket, route.route);
    else opts.upgrade.handle(req, socket, head);
  });
  // Longer than typical client and load-balancer idle timeouts, so the sidecar is not the
  // side that closes a kept-alive connection while a request is on its way.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 0; // large uploads and slow clients are legacy's to judge
  return server;
}
