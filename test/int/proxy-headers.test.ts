/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) stay on their own connection, both ways, on the
 * passthrough and on commands alike; end-to-end headers arrive, names in the case they were
 * written. Real sockets: a node:http upstream that records what it receives and answers with
 * raw header pairs, and the raw client of test/helpers/rawHttp.ts.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgTestDb, type TestDb } from '../harness/db.ts';
import { rawHeader, rawRequest } from '../helpers/rawHttp.ts';
import { startTestSidecar } from '../helpers/sidecar.ts';

type TestSidecar = Awaited<ReturnType<typeof startTestSidecar>>;

interface Received {
  rawHeaders: string[];
  body: Buffer;
}

// What the upstream answers: end-to-end headers in mixed case, and every hop-by-hop one.
const UPSTREAM_END_TO_END: [string, string][] = [
  ['Content-Type', 'application/json'],
  ['X-Powered-By', 'Legacy'],
  ['ETag', 'W/"42"'],
  ['Cache-Control', 'no-store'],
  ['Set-Cookie', 'a=1'],
  ['Set-Cookie', 'b=2'],
  ['x-lower-case', 'kept'],
];
const UPSTREAM_HOP_BY_HOP: [string, string][] = [
  ['Connection', 'keep-alive, X-Upstream-Hop'],
  ['X-Upstream-Hop', 'named in Connection'],
  ['Keep-Alive', 'timeout=5'],
  ['Trailer', 'X-Checksum'],
  ['TE', 'trailers'],
  ['Upgrade', 'h2c'],
  ['Proxy-Connection', 'keep-alive'],
  ['Proxy-Authenticate', 'Basic realm="legacy"'],
];
// What the client sends.
const CLIENT_END_TO_END: [string, string][] = [
  ['Content-Type', 'application/json'],
  ['X-Custom-Client', 'Value'],
  ['Accept-Language', 'fr'],
  ['x-lower-client', 'kept'],
];
const CLIENT_HOP_BY_HOP: [string, string][] = [
  ['Connection', 'keep-alive, X-Client-Hop'],
  ['X-Client-Hop', 'named in Connection'],
  ['Keep-Alive', 'timeout=9'],
  ['TE', 'trailers'],
  ['Trailer', 'X-Checksum'],
  ['Upgrade', 'h2c'], // without `upgrade` in Connection: a plain request, not an upgrade
  ['Proxy-Connection', 'keep-alive'],
  ['Proxy-Authorization', 'Basic Zm9vOmJhcg=='],
];
const HOP_NAMES = ['connection', 'keep-alive', 'te', 'trailer', 'upgrade', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization'];

let storeDb: TestDb;
let server: http.Server;
let upstreamUrl: string;
const received: Received[] = [];
let sidecar: TestSidecar;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.once('end', () => {
      received.push({ rawHeaders: req.rawHeaders, body: Buffer.concat(chunks) });
      const body = JSON.stringify({ id: `h${received.length}` });
      // A raw array keeps the names as written here; node adds Date and, with no length given,
      // chunked framing (a Trailer header is only valid with it).
      res.writeHead(200, [...UPSTREAM_END_TO_END, ...UPSTREAM_HOP_BY_HOP].flat());
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  upstreamUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  storeDb = await createPgTestDb('headers_store');
  sidecar = await startTestSidecar({
    upstream: upstreamUrl,
    eventStoreUrl: storeDb.url,
    configure: (c) => (c.eventStore.appendTimeoutMs = 10_000),
  });
});
afterAll(async () => {
  await sidecar?.stop();
  await new Promise<void>((resolve) => {
    server?.close(() => resolve());
    server?.closeAllConnections();
  });
  await storeDb?.drop();
});

const names = (raw: string[]) => raw.filter((_, i) => i % 2 === 0);
const lower = (raw: string[]) => names(raw).map((n) => n.toLowerCase());

const routes = [
  { kind: 'passthrough', method: 'PUT', path: '/anything/else' },
  { kind: 'command', method: 'POST', path: '/orders' },
] as const;

describe.each(routes)('$kind ($method $path)', ({ method, path }) => {
  it('each hop-by-hop header the client sends is absent upstream; end-to-end ones arrive with their case', async () => {
    const n = received.length;
    const r = await rawRequest(sidecar.publicUrl, {
      method,
      path,
      headers: [...CLIENT_END_TO_END, ...CLIENT_HOP_BY_HOP],
      body: '{"customerId":"c"}',
      slow: { chunkBytes: 8, pauseMs: 1 }, // chunked: a Trailer header is only valid with it
    });
    expect(r.status).toBe(200);
    const got = received[n]!;
    // Connection may be there, but the sidecar's own for its connection to legacy (node's keep-alive).
    const own = new Set(['connection']);
    for (const h of [...HOP_NAMES, 'x-client-hop']) if (!own.has(h)) expect(lower(got.rawHeaders), h).not.toContain(h);
    expect(rawHeader(got.rawHeaders, 'connection') ?? '').not.toMatch(/x-client-hop/i);
    for (const [name, value] of CLIENT_END_TO_END) {
      expect(names(got.rawHeaders), name).toContain(name); // the exact case sent
      expect(rawHeader(got.rawHeaders, name)).toBe(value);
    }
    expect(names(got.rawHeaders)).toContain('Host');
    expect(got.body.toString()).toBe('{"customerId":"c"}');
  });

  it('each hop-by-hop header the upstream sends is absent for the client; end-to-end ones arrive with their case', async () => {
    const r = await rawRequest(sidecar.publicUrl, { method, path, headers: [['Content-Type', 'application/json']], body: '{}' });
    expect(r.status).toBe(200);
    expect(lower(r.rawHeaders)).not.toContain('x-upstream-hop');
    expect(lower(r.rawHeaders)).not.toContain('te');
    expect(lower(r.rawHeaders)).not.toContain('trailer');
    expect(rawHeader(r.rawHeaders, 'transfer-encoding')).toBe('chunked'); // the sidecar's own framing
    expect(lower(r.rawHeaders)).not.toContain('upgrade');
    expect(lower(r.rawHeaders)).not.toContain('proxy-connection');
    expect(lower(r.rawHeaders)).not.toContain('proxy-authenticate');
    // Connection and Keep-Alive may be there, but the sidecar's own, not legacy's.
    expect(rawHeader(r.rawHeaders, 'keep-alive') ?? '').not.toBe('timeout=5');
    expect(rawHeader(r.rawHeaders, 'connection') ?? '').not.toMatch(/x-upstream-hop/i);
    const endToEnd = r.rawHeaders.flatMap((v, i) =>
      i % 2 === 0 && UPSTREAM_END_TO_END.some(([n]) => n === v) ? [[v, r.rawHeaders[i + 1]]] : [],
    );
    expect(endToEnd).toEqual(UPSTREAM_END_TO_END);
  });

  it('Transfer-Encoding is framing: a chunked body arrives whole, and the upstream sees no client hop-by-hop header', async () => {
    const n = received.length;
    const body = Buffer.from(JSON.stringify({ customerId: 'chunked', pad: 'y'.repeat(5000) }));
    // slow: written in pieces with no Content-Length, so the client sends it chunked.
    const r = await rawRequest(sidecar.publicUrl, {
      method,
      path,
      headers: [['Content-Type', 'application/json'], ...CLIENT_HOP_BY_HOP.slice(0, 3)],
      body,
      slow: { chunkBytes: 1000, pauseMs: 2 },
    });
    expect(r.status).toBe(200);
    expect(received[n]!.body.equals(body)).toBe(true);
    for (const h of ['keep-alive', 'x-client-hop']) expect(lower(received[n]!.rawHeaders)).not.toContain(h);
    expect(rawHeader(received[n]!.rawHeaders, 'connection') ?? '').not.toMatch(/x-client-hop/i);
  });
});

describe('server.maxHeaderBytes', () => {
  it('a request head over the limit is refused 431 without reaching legacy; the same head passes a sidecar with the default 16 KiB', async () => {
    const small = await startTestSidecar({
      upstream: upstreamUrl,
      store: sidecar.store,
      configure: (c) => (c.server.maxHeaderBytes = 4096),
    });
    try {
      const big: [string, string][] = [['X-Big', 'a'.repeat(6000)]];
      const n = received.length;
      const refused = await rawRequest(small.publicUrl, { path: '/anything', headers: big });
      expect(refused.status).toBe(431);
      expect(received.length).toBe(n);
      const passed = await rawRequest(sidecar.publicUrl, { path: '/anything', headers: big });
      expect(passed.status).toBe(200);
      expect(rawHeader(received[n]!.rawHeaders, 'x-big')).toHaveLength(6000);
    } finally {
      await small.stop();
    }
  });
});
