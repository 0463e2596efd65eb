import http, { type IncomingMessage } from 'node:http';
import { HOP_BY_HOP, endToEndRawHeaders } from './hopByHop.ts';

export interface UpstreamAnswer {
  status: number;
  statusMessage: string;
  /** End-to-end raw header pairs, as legacy sent them (case and order kept). */
  rawHeaders: string[];
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

// `expect` too: the sidecar already answered 100-continue and sends the whole body at once.
// Content-Length is set again below from the buffered body.
const REQUEST_DROP = new Set([...HOP_BY_HOP, 'content-length', 'expect']);

/**
 * Sends a buffered command to legacy and buffers the answer (the command path needs the
 * body to build events). The request goes unchanged but for hop-by-hop headers, an exact
 * Content-Length and the X-Forwarded-* headers a proxy adds.
 */
export function forward(opts: {
  req: IncomingMessage;
  body: Buffer;
  upstream: URL;
  agent: http.Agent;
  timeoutMs: number;
}): Promise<UpstreamAnswer> {
  const { req, body, upstream } = opts;
  const headers = addForwarded(endToEndRawHeaders(req.rawHeaders, REQUEST_DROP), req);
  if (body.length > 0 || req.method === 'POST' || req.method === 'PUT' || req.method === 'PATCH')
    headers.push('Content-Length', String(body.length));
  return new Promise((resolve, reject) => {
    const out = http.request({
      protocol: upstream.protocol,
      hostname: upstream.hostname,
      port: upstream.port,
      method: req.method,
      // The request path exactly as the client sent it, under the upstream's base path.
      path: upstream.pathname.replace(/\/$/, '') + (req.url ?? '/'),
      headers: headers as unknown as http.OutgoingHttpHeaders,
      agent: opts.agent,
    });
    out.setTimeout(opts.timeoutMs, () => {
      out.destroy(Object.assign(new Error(`legacy did not answer within ${opts.timeoutMs} ms`), { code: 'UPSTREAM_TIMEOUT' }));
    });
    out.once('error', reject);
    out.once('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('error', reject);
      res.once('aborted', () => reject(Object.assign(new Error('legacy aborted the response'), { code: 'ECONNRESET' })));
      res.once('end', () => {
        resolve({
          status: res.statusCode ?? 502,
          statusMessage: res.statusMessage ?? '',
          rawHeaders: endToEndRawHeaders(res.rawHeaders),
          headers: res.headers,
          body: Buffer.concat(chunks),
        });
      });
    });
    out.end(body);
  });
}

/**
 * The same X-Forwarded-* values the passthrough (http-proxy's xfwd) produces: for, port and
 * proto appended with ',', host kept when a proxy in front already set it. Used by commands
 * and upgrades, which build their raw header lists themselves.
 */
export function addForwarded(headers: string[], req: IncomingMessage): string[] {
  const append = (name: string, value: string) => {
    const prior = req.headers[name.toLowerCase()];
    setRaw(headers, name, prior ? `${String(prior)},${value}` : value);
  };
  append('X-Forwarded-For', req.socket.remoteAddress ?? '');
  append('X-Forwarded-Port', String(req.socket.localPort ?? ''));
  append('X-Forwarded-Proto', 'http');
  setRaw(headers, 'X-Forwarded-Host', (req.headers['x-forwarded-host'] as string | undefined) ?? req.headers.host ?? '');
  return headers;
}

function setRaw(raw: string[], name: string, value: string): void {
  const lower = name.toLowerCase();
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() === lower) {
      raw.splice(i, 2);
      i -= 2;
    }
  }
  raw.push(name, value);
}
