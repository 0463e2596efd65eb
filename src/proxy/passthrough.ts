import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { createProxyMiddleware, type Plugin } from 'http-proxy-middleware';
import type { Metrics } from '../metrics/metrics.ts';
import { answerUpstreamError } from './upstreamErrors.ts';
import { REQUEST_ID_HEADER } from './requestId.ts';

export interface PassthroughOptions {
  upstream: string;
  agent: http.Agent;
  /** Milliseconds to wait for legacy's response head. */
  timeoutMs: number;
  metrics?: Metrics;
}

/**
 * Streams a request to legacy and its answer back, byte for byte (hop-by-hop headers
 * aside), through http-proxy-middleware with its default plugins ejected: every plugin
 * and listener here runs on each request, and this path is the one the table in
 * DESIGN.md measures.
 */
export function createPassthrough(opts: PassthroughOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const errors: Plugin = (proxyServer) => {
    proxyServer.on('error', (err, req, res) => {
      if (res instanceof http.ServerResponse) {
        const id = (req as IncomingMessage).headers[REQUEST_ID_HEADER];
        answerUpstreamError(err as NodeJS.ErrnoException, res, opts.metrics, typeof id === 'string' ? id : undefined);
      } else {
        (res as { destroy?: () => void }).destroy?.();
      }
    });
    // Idle timeout on the upstream request, failed with a code of our own so the answer is
    // 504 (http-proxy's proxyTimeout surfaces as a bare "socket hang up", like a crash).
    proxyServer.on('proxyReq', (proxyReq) => {
      proxyReq.setTimeout(opts.timeoutMs, () => {
        proxyReq.destroy(Object.assign(new Error(`legacy did not answer within ${opts.timeoutMs} ms`), { code: 'UPSTREAM_TIMEOUT' }));
      });
    });
  };
  const middleware = createProxyMiddleware<IncomingMessage, ServerResponse>({
    target: opts.upstream,
    agent: opts.agent,
    xfwd: true,
    changeOrigin: false,
    ejectPlugins: true,
    plugins: [errors],
  });
  return (req, res) => {
    void middleware(req, res);
  };
}
