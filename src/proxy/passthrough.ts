import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { parse as parseUrl } from 'node:url';
import { createProxyMiddleware, type Plugin } from 'http-proxy-middleware';
import type { Metrics } from '../metrics/metrics.ts';
import { endToEndRawHeaders, stripRequestHopByHop } from './hopByHop.ts';
import { answerUpstreamError, classifyUpstreamError } from './upstreamErrors.ts';
import type { UpstreamHealth } from './upstreamHealth.ts';
import { REQUEST_ID_HEADER } from './requestId.ts';
import { EXTRAS, RETRIED, tapAnswer, type PassthroughExtras } from './passthroughTap.ts';

/** Streams one request to legacy; `extras` (read routes only) add a header and/or tap the answer. */
export type Passthrough = (req: IncomingMessage, res: ServerResponse, extras?: PassthroughExtras) => void;

export interface PassthroughOptions {
  upstream: string;
  agent: http.Agent;
  /** Milliseconds to wait for legacy's response head. */
  timeoutMs: number;
  metrics?: Metrics;
  /** Told of every answer and every failure (reachability for /readyz and the log). */
  health?: UpstreamHealth;
}

/**
 * Streams a request to legacy and its answer back, byte for byte (hop-by-hop headers
 * aside, hopByHop.ts), through http-proxy-middleware with its default plugins ejected: every
 * plugin and listener here runs on each request, and this path is the one the table in
 * DESIGN.md measures. Header names keep their case both ways, as on the command path.
 */
export function createPassthrough(opts: PassthroughOptions): Passthrough {
  const basePath = new URL(opts.upstream).pathname.replace(/\/$/, '');
  const errors: Plugin = (proxyServer) => {
    proxyServer.on('error', (err, req, res) => {
      // A read (GET, no body) whose pooled connection legacy closed before answering (the
      // keep-alive race: legacy's idle timeout fired as the socket was reused) is sent once more.
      if (res instanceof http.ServerResponse && retryOnce(err, res)) return void middleware(req, res);
      opts.health?.failed(err);
      if (res instanceof http.ServerResponse) {
        const id = req.headers[REQUEST_ID_HEADER];
        answerUpstreamError(err, res, opts.metrics, typeof id === 'string' ? id : undefined);
      } else {
        (res as { destroy?: () => void }).destroy?.();
      }
    });
    // http-proxy pipes legacy's body to the client and does nothing when legacy's connection
    // dies mid-body: the client would wait forever for a response that cannot complete.
    // Cut the client's connection too, as legacy's was, so the truncation shows.
    //
    // The answer is written here (selfHandleResponse): legacy's raw header pairs, in their case
    // and order, minus the hop-by-hop ones, in one writeHead. http-proxy's own response passes
    // would copy the lower-cased parsed headers one setHeader at a time, hop-by-hop included
    // (legacy's `Keep-Alive: timeout=5` on a connection the sidecar keeps 65 s).
    proxyServer.on('proxyRes', (proxyRes, _req, res) => {
      opts.health?.succeeded();
      proxyRes.once('close', () => {
        if (!proxyRes.complete) res.destroy();
      });
      if (res.headersSent || res.destroyed) {
        proxyRes.resume(); // the client is gone (or was answered): drain legacy's answer
        return;
      }
      const extras = (res as { [EXTRAS]?: PassthroughExtras })[EXTRAS];
      const headers = endToEndRawHeaders(proxyRes.rawHeaders);
      if (extras?.header) headers.push(extras.header[0], extras.header[1]);
      res.writeHead(proxyRes.statusCode ?? 502, proxyRes.statusMessage, headers);
      proxyRes.pipe(res);
      if (extras?.tap) tapAnswer(proxyRes, res, extras.tap);
    });
    // Idle timeout on the upstream request, failed with a code of our own so the answer is
    // 504 (http-proxy's proxyTimeout surfaces as a bare "socket hang up", like a crash).
    proxyServer.on('proxyReq', (proxyReq, req) => {
      // http-proxy joins the target path and the request path, collapsing '//' on the way:
      // legacy must see the path exactly as the client sent it (its router decides what
      // '//orders/x' means). The request line is written lazily, so this takes effect.
      proxyReq.path = basePath + (req.url ?? '/');
      // http-proxy sends the parsed (lower-cased) names: give each the case the client used.
      // 'proxyReq' comes with the socket; when the agent had to queue the request (all its
      // sockets busy) a body-less request may have been ended, its head built, before that:
      // then it goes lower-cased (setHeader would throw).
      const raw = proxyReq.headersSent ? [] : req.rawHeaders;
      for (let i = 0; i < raw.length; i += 2) {
        const name = raw[i]!;
        const lower = name.toLowerCase();
        if (name === lower) continue;
        const value = proxyReq.getHeader(lower);
        if (value !== undefined) proxyReq.setHeader(name, value);
      }
      proxyReq.setTimeout(opts.timeoutMs, () => {
        proxyReq.destroy(Object.assign(new Error(`legacy did not answer within ${opts.timeoutMs} ms`), { code: 'UPSTREAM_TIMEOUT' }));
      });
    });
  };
  const middleware = createProxyMiddleware<IncomingMessage, ServerResponse>({
    // Parsed once here: given a string, http-proxy runs the legacy url.parse (with its IDNA
    // step, ~1 µs) on it for every request; this is the very object it would build each time.
    target: parseUrl(opts.upstream),
    agent: opts.agent,
    xfwd: true,
    changeOrigin: false,
    selfHandleResponse: true,
    ejectPlugins: true,
    plugins: [errors],
  });
  const retryOnce = (err: NodeJS.ErrnoException, res: ServerResponse): boolean => {
    const r = res as { [EXTRAS]?: PassthroughExtras; [RETRIED]?: true };
    if (!r[EXTRAS]?.retryOnReset || r[RETRIED] || res.headersSent) return false;
    if (classifyUpstreamError(err).reason !== 'connection_reset') return false;
    r[RETRIED] = true;
    return true;
  };
  return (req, res, extras) => {
    if (extras) (res as { [EXTRAS]?: PassthroughExtras })[EXTRAS] = extras;
    stripRequestHopByHop(req.headers);
    void middleware(req, res);
  };
}
