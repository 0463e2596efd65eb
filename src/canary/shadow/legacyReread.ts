import http from 'node:http';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { ReadRequest } from '../../reads/types.ts';
import { HOP_BY_HOP } from '../../proxy/hopByHop.ts';
import type { LegacyAnswer } from '../shadowTypes.ts';

/** Reads legacy a second time for the same request (noise detection). */
export type LegacyReread = (req: ReadRequest, signal: AbortSignal) => Promise<LegacyAnswer>;

/** A body over the shadow's limit: the comparison is shed, not failed. */
export class BodyTooLarge extends Error {
  constructor(limit: number) {
    super(`the body is over shadow.maxBodyBytes (${limit} bytes)`);
  }
}

// A second read must get a whole answer: conditional and range headers would make it a
// 304 or a 206 where the first was a 200. Content-Length/Expect belong to a body it has not.
const DROP = new Set([...HOP_BY_HOP, 'content-length', 'expect', 'if-none-match', 'if-modified-since', 'if-range', 'range']);

/**
 * A GET to legacy with the client's path and headers, minus hop-by-hop ones (and those the
 * Connection header names), over the sidecar's upstream agent. The body is read up to
 * `maxBodyBytes`.
 */
export function createLegacyReread(opts: { upstream: URL; agent: http.Agent; timeoutMs: number; maxBodyBytes: number }): LegacyReread {
  const base = opts.upstream.pathname.replace(/\/$/, '');
  return (req, signal) => {
    const named = new Set(
      String(req.headers.connection ?? '')
        .split(',')
        .map((t) => t.trim().toLowerCase()),
    );
    const headers: http.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined || DROP.has(name) || named.has(name)) continue;
      headers[name] = value;
    }
    return new Promise<LegacyAnswer>((resolve, reject) => {
      const out = http.request({
        protocol: opts.upstream.protocol,
        hostname: opts.upstream.hostname,
        port: opts.upstream.port,
        method: 'GET',
        path: base + req.url,
        headers,
        agent: opts.agent,
        signal,
      });
      out.setTimeout(opts.timeoutMs, () => out.destroy(new Error(`legacy did not answer the second read within ${opts.timeoutMs} ms`)));
      out.once('error', reject);
      out.once('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > opts.maxBodyBytes) return res.destroy(new BodyTooLarge(opts.maxBodyBytes));
          chunks.push(c);
        });
        res.once('error', reject);
        res.once('aborted', () => reject(new Error('legacy aborted the second read')));
        res.once('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
      });
      out.end();
    });
  };
}

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);
const brotli = promisify(zlib.brotliDecompress);

/**
 * The body as legacy meant it: the read path taps the bytes the client got, compressed
 * when legacy compressed them. Decoded off the event loop, up to `maxBytes` (else BodyTooLarge).
 */
export async function decodeBody(answer: LegacyAnswer, maxBytes: number): Promise<Buffer> {
  const raw = answer.headers['content-encoding'];
  const encoding = (Array.isArray(raw) ? raw.join(',') : (raw ?? '')).trim().toLowerCase();
  const opts = { maxOutputLength: maxBytes };
  try {
    if (encoding === '' || encoding === 'identity') return answer.body;
    if (encoding === 'gzip' || encoding === 'x-gzip') return await gunzip(answer.body, opts);
    if (encoding === 'deflate') return await inflate(answer.body, opts);
    if (encoding === 'br') return await brotli(answer.body, opts);
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw new BodyTooLarge(maxBytes);
    throw err;
  }
  throw new Error(`legacy's body has Content-Encoding "${encoding}", which the shadow comparison cannot decode`);
}
