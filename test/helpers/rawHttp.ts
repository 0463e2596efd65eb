/**
 * A raw HTTP client for transparency tests: status, the header pairs exactly as they came
 * off the wire (names in their case, in their order, repeats kept) and the body as bytes.
 * No decompression, no redirects, no JSON parsing: the point is to compare what two
 * servers sent, not what a convenient client makes of it.
 */
import http from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';

export interface RawResponse {
  status: number;
  statusMessage: string;
  /** [name, value, name, value, …] as received. */
  rawHeaders: string[];
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** How many 'data' events the body arrived in (a streamed answer arrives in several). */
  dataEvents: number;
  /** The request went out on a kept-alive socket that an earlier request had used. */
  reusedSocket: boolean;
}

export interface RawRequest {
  method?: string;
  /** Path and query, sent as given (no normalisation, no escaping). */
  path: string;
  /** Header pairs in order, or a record; names keep their case. */
  headers?: [string, string][] | Record<string, string>;
  body?: Buffer | string;
  /** Send the body in pieces of this many bytes with a pause between them (a slow client). */
  slow?: { chunkBytes: number; pauseMs: number };
  /** Default: a fresh connection per request (`agent: false`). */
  agent?: http.Agent | false;
  /** Give up after this long (default 30 s). */
  timeoutMs?: number;
}

export function rawRequest(baseUrl: string, r: RawRequest): Promise<RawResponse> {
  const url = new URL(baseUrl);
  const pairs = Array.isArray(r.headers) ? [...r.headers] : Object.entries(r.headers ?? {});
  // With headers given as raw pairs node adds no Host of its own; HTTP/1.1 requires one.
  if (!pairs.some(([n]) => n.toLowerCase() === 'host')) pairs.unshift(['Host', url.host]);
  const body = typeof r.body === 'string' ? Buffer.from(r.body) : r.body;
  return new Promise((resolve, reject) => {
    const req = http.request({
      hostname: url.hostname,
      port: url.port,
      method: r.method ?? 'GET',
      path: r.path,
      // An array keeps the caller's names and order; node writes them as given.
      headers: pairs.flat() as unknown as http.OutgoingHttpHeaders,
      agent: r.agent ?? false,
      timeout: r.timeoutMs ?? 30_000,
    });
    req.once('timeout', () => req.destroy(new Error(`no answer to ${r.method ?? 'GET'} ${r.path} within ${r.timeoutMs ?? 30_000} ms`)));
    // `on`, not `once`: a server that answers early and closes (a 413) may fail several writes.
    req.on('error', reject);
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      let dataEvents = 0;
      res.on('data', (c: Buffer) => {
        dataEvents++;
        chunks.push(c);
      });
      res.once('error', reject);
      res.once('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          statusMessage: res.statusMessage ?? '',
          rawHeaders: res.rawHeaders,
          headers: res.headers,
          body: Buffer.concat(chunks),
          dataEvents,
          reusedSocket: req.reusedSocket,
        }),
      );
    });
    if (!body) {
      req.end();
      return;
    }
    if (!r.slow) {
      req.end(body);
      return;
    }
    const { chunkBytes, pauseMs } = r.slow;
    void (async () => {
      for (let at = 0; at < body.length && !req.destroyed; at += chunkBytes) {
        req.write(body.subarray(at, at + chunkBytes));
        await delay(pauseMs);
      }
      if (!req.destroyed) req.end();
    })().catch(reject);
  });
}

/**
 * Headers excluded from an end-to-end comparison, and why:
 * - connection, keep-alive, proxy-connection, transfer-encoding, te, trailer, upgrade:
 *   hop-by-hop (RFC 9110 §7.6.1), they describe one connection, and the client→sidecar
 *   connection is not the sidecar→legacy one (each side frames and keeps alive on its own);
 * - any header named in Connection: hop-by-hop by declaration;
 * - date: the time each server wrote its answer, so two answers a moment apart differ.
 * Everything else (content-type, content-length, etag, x-powered-by, location, cache-control,
 * the service's own headers) must arrive exactly as legacy sent it.
 */
export const NOT_END_TO_END = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'date',
] as const;

/** End-to-end headers as [lower-case name, exact value] pairs, sorted by name then value (repeats kept). */
export function endToEndHeaders(rawHeaders: string[]): [string, string][] {
  const drop = new Set<string>(NOT_END_TO_END);
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() === 'connection') {
      for (const token of rawHeaders[i + 1]!.split(',')) drop.add(token.trim().toLowerCase());
    }
  }
  const out: [string, string][] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    if (!drop.has(name)) out.push([name, rawHeaders[i + 1]!]);
  }
  // Header order between different names carries no meaning (RFC 9110 §5.3); the order of
  // repeats of one name does, and a stable sort keeps it.
  return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** The value of one header in raw pairs (first occurrence, case-insensitive). */
export function rawHeader(rawHeaders: string[], name: string): string | undefined {
  const lower = name.toLowerCase();
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]!.toLowerCase() === lower) return rawHeaders[i + 1];
  return undefined;
}
