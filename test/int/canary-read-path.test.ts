import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createReadPath } from '../../src/canary/readPath.ts';
import type { ReadObservation } from '../../src/canary/readStats.ts';
import type { Shadow, ShadowSubmission } from '../../src/canary/shadowTypes.ts';
import type { CanaryState } from '../../src/canary/stages.ts';
import { loadConfig } from '../../src/config/index.ts';
import type { Config } from '../../src/config/schema.ts';
import type { Executor } from '../../src/db/executor.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { createMetrics } from '../../src/metrics/metrics.ts';
import { createPassthrough } from '../../src/proxy/passthrough.ts';
import { ensureRequestId } from '../../src/proxy/requestId.ts';
import { compileRouteTable } from '../../src/proxy/routeTable.ts';
import type { ReadHandler } from '../../src/reads/types.ts';
import { metricValue } from '../helpers/metrics.ts';
import { seededRandom } from '../helpers/seed.ts';

// The read path between a real client, a real node:http public server and a real legacy
// upstream: which side answers, what the client gets, what is counted, and the shadow's tap
// of legacy's answer. Read-your-writes and list lag against PostgreSQL: canary-reads.test.ts.

let upstream: http.Server;
let upstreamUrl: string;
let legacyCalls = 0;
let bigBody: Buffer;
const resetOnce = new Set<string>();

let server: http.Server;
let base: string;
let config: Config;
let registry: Registry;
let state: CanaryState;
let mode: 'ok' | 'slow' | 'fail';
let aborted: boolean;
let submissions: ShadowSubmission[];
let observations: ReadObservation[];
let agent: http.Agent;

const itemHandler: ReadHandler = {
  route: 'GET /orders/:id',
  async handle(req, ctx) {
    if (mode === 'fail') throw new Error('relation "orders" does not exist');
    if (mode === 'slow')
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 10_000);
        ctx.signal.addEventListener('abort', () => {
          aborted = true;
          clearTimeout(t);
          resolve();
        });
      });
    return { status: 200, body: { id: req.params['id'], from: 'read model' }, headers: { 'Cache-Control': 'no-store' } };
  },
};
const listHandler: ReadHandler = { route: 'GET /orders', handle: async () => ({ status: 200, body: [] }) };

const recordingShadow: Shadow = {
  wanted: (_e, _r, stage) => stage === 'shadow' || stage === 'canary',
  submit: (s) => void submissions.push(s),
  stop: async () => undefined,
};

beforeAll(async () => {
  const rand = seededRandom('read path: legacy body bytes');
  bigBody = Buffer.from(Array.from({ length: 300_000 }, () => rand.int(0, 256)));
  upstream = http.createServer((req, res) => {
    legacyCalls++;
    if (req.url?.startsWith('/orders/big')) {
      // Written in uneven pieces with pauses, chunked: the tap must see every byte in order.
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'X-Legacy': 'yes' });
      let at = 0;
      const next = () => {
        if (at >= bigBody.length) return void res.end();
        const n = 1 + rand.int(0, 70_000);
        res.write(bigBody.subarray(at, at + n));
        at += n;
        setTimeout(next, 1);
      };
      return next();
    }
    if (req.url?.startsWith('/orders/reset-') && !resetOnce.has(req.url)) {
      // Legacy closes the connection without answering (as when its keep-alive timeout fires
      // on a socket the proxy is reusing): once per path.
      resetOnce.add(req.url);
      return void req.socket.destroy();
    }
    const missing = req.url?.startsWith('/orders/missing');
    const body = JSON.stringify(missing ? { error: 'not_found', message: 'Order missing not found' } : { from: 'legacy', url: req.url });
    res.writeHead(missing ? 404 : 200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => upstream.close(r));
});

async function startPath(configure: (c: Config) => void = () => undefined): Promise<void> {
  config = loadConfig({ file: 'examples/legacy-orders/strangler.yaml', env: { STRANGLER_LEGACY_UPSTREAM: upstreamUrl } });
  config.canary.sourceHeader = true;
  config.entities['orders']!.reads = [itemHandler, listHandler].map((h) => ({ route: h.route, handler: 'by-hand.ts', ignore: [] }));
  configure(config);
  registry = new Registry();
  const metrics = createMetrics(registry);
  agent = new http.Agent({ keepAlive: true });
  const passthrough = createPassthrough({ upstream: upstreamUrl, agent, timeoutMs: 5000, metrics });
  const routes = compileRouteTable(config.entities);
  const read = createReadPath({
    entities: config.entities,
    canary: config.canary,
    handlers: new Map([
      [
        'orders',
        new Map([
          [itemHandler.route, itemHandler],
          [listHandler.route, listHandler],
        ]),
      ],
    ]),
    follower: { current: () => state },
    // The projection is caught up and no stream has a newer event (PostgreSQL cases: canary-reads.test.ts).
    freshness: { checkpoint: () => ({ transactionId: '1', position: 1 }), lagMs: () => 0 },
    projectionOf: () => 'orders',
    store: { streamHead: async () => null },
    db: {} as Executor,
    passthrough,
    shadow: recordingShadow,
    stats: { read: (o) => void observations.push(o), shadow: () => undefined },
    metrics,
    logger: silentLogger(),
  });
  server = http.createServer((req, res) => {
    ensureRequestId(req);
    const route = routes.classify(req.method, req.url);
    if (route.kind === 'read') read(req, res, route);
    else passthrough(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeEach(() => {
  mode = 'ok';
  aborted = false;
  submissions = [];
  observations = [];
  legacyCalls = 0;
  state = { entity: 'orders', stage: 'shadow', percent: 0, paused: false, version: 1, updatedAt: '', updatedBy: 't' };
});

async function stopPath() {
  await new Promise((r) => server.close(r));
  agent.destroy();
}

const reads = (labels: Record<string, string>) => metricValue(registry, 'strangler_reads_total', { entity: 'orders', ...labels });

describe('read path on a real server and upstream', () => {
  beforeAll(() => startPath((c) => (c.canary.overrideHeader = 'x-strangler-read')));
  afterAll(() => stopPath());

  it('shadow: legacy answers; the tap hands the shadow exactly the bytes and status the client got', async () => {
    const res = await fetch(`${base}/orders/big-1`);
    const got = Buffer.from(await res.arrayBuffer());
    expect(res.status).toBe(200);
    expect(res.headers.get('x-strangler-source')).toBe('legacy');
    expect(got.equals(bigBody)).toBe(true);
    await expect.poll(() => submissions.length).toBe(1);
    const s = submissions[0]!;
    expect(s).toMatchObject({
      entity: 'orders',
      route: 'GET /orders/:id',
      request: { method: 'GET', url: '/orders/big-1', params: { id: 'big-1' } },
    });
    expect(s.legacy.status).toBe(200);
    expect(s.legacy.headers['x-legacy']).toBe('yes');
    expect(s.legacy.body.equals(got)).toBe(true);

    const missing = await fetch(`${base}/orders/missing?x=1`);
    const missingBody = Buffer.from(await missing.arrayBuffer());
    await expect.poll(() => submissions.length).toBe(2);
    expect(submissions[1]!.legacy.status).toBe(404);
    expect(submissions[1]!.legacy.body.equals(missingBody)).toBe(true);
    expect(submissions[1]!.request.query.get('x')).toBe('1');
    expect(await reads({ source: 'legacy', outcome: 'routed' })).toBe(2);
    expect(observations.map((o) => `${o.source}:${o.outcome}`)).toEqual(['legacy:routed', 'legacy:routed']);
  });

  it('complete: the read model answers with status, JSON, Content-Length, extra headers, X-Request-Id and the source', async () => {
    state = { ...state, stage: 'complete', percent: 100 };
    const res = await fetch(`${base}/orders/o1`, { headers: { 'x-request-id': 'req-42' } });
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(JSON.parse(text)).toEqual({ id: 'o1', from: 'read model' });
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(res.headers.get('content-length')).toBe(String(Buffer.byteLength(text)));
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-request-id')).toBe('req-42');
    expect(res.headers.get('x-strangler-source')).toBe('read-model');
    expect(legacyCalls).toBe(0);
    expect(await reads({ source: 'read-model', outcome: 'served' })).toBe(1);
    expect(observations[0]).toMatchObject({ source: 'read-model', outcome: 'served', readModelSeconds: expect.any(Number) as number });
  });

  it('a read-model error: legacy answers at once, the client never sees the failure', async () => {
    state = { ...state, stage: 'complete', percent: 100 };
    mode = 'fail';
    const res = await fetch(`${base}/orders/o2`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ from: 'legacy', url: '/orders/o2' });
    expect(res.headers.get('x-strangler-source')).toBe('legacy');
    expect(await reads({ source: 'legacy', outcome: 'error' })).toBe(1);
    expect(submissions).toHaveLength(0); // a fallback is not compared
  });

  it('override header: readmodel at shadow, legacy at complete; other values route normally', async () => {
    const viaModel = await fetch(`${base}/orders/o3`, { headers: { 'x-strangler-read': 'readmodel' } });
    expect(viaModel.headers.get('x-strangler-source')).toBe('read-model');
    state = { ...state, stage: 'complete', percent: 100 };
    const viaLegacy = await fetch(`${base}/orders/o3`, { headers: { 'x-strangler-read': 'legacy' } });
    expect(await viaLegacy.json()).toEqual({ from: 'legacy', url: '/orders/o3' });
    const normal = await fetch(`${base}/orders/o3`, { headers: { 'x-strangler-read': 'please' } });
    expect(normal.headers.get('x-strangler-source')).toBe('read-model');
    expect(await reads({ source: 'read-model', outcome: 'override' })).toBe(1);
    expect(await reads({ source: 'legacy', outcome: 'override' })).toBe(1);
  });

  it('canary: no sticky key → legacy (no_key); with keys, the buckets below percent × 100 read the model', async () => {
    state = { ...state, stage: 'canary', percent: 50 };
    const res = await fetch(`${base}/orders/o4`);
    expect(res.headers.get('x-strangler-source')).toBe('legacy');
    expect(await reads({ source: 'legacy', outcome: 'no_key' })).toBe(1);
    const sources = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const r = await fetch(`${base}/orders/o4`, { headers: { 'x-user-id': `user-${i}` } });
      await r.arrayBuffer();
      sources.add(r.headers.get('x-strangler-source')!);
    }
    expect([...sources].sort()).toEqual(['legacy', 'read-model']);
    // Paused: routing stays at the percent (pause only freezes changes).
    const sourcesAt = async () => {
      const out: string[] = [];
      for (let i = 0; i < 20; i++) {
        const r = await fetch(`${base}/orders/o4`, { headers: { 'x-user-id': `user-${i}` } });
        await r.arrayBuffer();
        out.push(r.headers.get('x-strangler-source')!);
      }
      return out;
    };
    const running = await sourcesAt();
    state = { ...state, paused: true };
    expect(await sourcesAt()).toEqual(running);
  });

  it('a read whose connection legacy closes before answering is sent once more; the client gets the answer', async () => {
    const res = await fetch(`${base}/orders/reset-1`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ from: 'legacy', url: '/orders/reset-1' });
    expect(legacyCalls).toBe(2);
    expect(await reads({ source: 'legacy', outcome: 'routed' })).toBeGreaterThan(0);
  });

  it('dual_write: straight through, nothing added or counted; passthrough routes untouched', async () => {
    state = { ...state, stage: 'dual_write', percent: 0 };
    const before = observations.length;
    const res = await fetch(`${base}/orders/o5`);
    expect(await res.json()).toEqual({ from: 'legacy', url: '/orders/o5' });
    expect(res.headers.get('x-strangler-source')).toBeNull();
    const other = await fetch(`${base}/health`);
    expect(other.headers.get('x-strangler-source')).toBeNull();
    expect(observations.length).toBe(before);
  });
});

describe('read path: timeout and body cap', () => {
  beforeAll(() =>
    startPath((c) => {
      c.canary.readTimeoutMs = 100;
      c.canary.shadow.maxBodyBytes = 1000;
    }),
  );
  afterAll(() => stopPath());

  it('a read model slower than readTimeoutMs: its signal is aborted and legacy answers', async () => {
    state = { ...state, stage: 'complete', percent: 100 };
    mode = 'slow';
    const res = await fetch(`${base}/orders/o6`);
    expect(await res.json()).toEqual({ from: 'legacy', url: '/orders/o6' });
    expect(res.headers.get('x-strangler-source')).toBe('legacy');
    expect(aborted).toBe(true);
    expect(await reads({ source: 'legacy', outcome: 'timeout' })).toBe(1);
    expect(observations[0]).toMatchObject({ outcome: 'timeout', readModelSeconds: expect.any(Number) as number });
  });

  it('a legacy answer over shadow.maxBodyBytes reaches the client whole, is not submitted, and is counted as shed', async () => {
    const res = await fetch(`${base}/orders/big-2`);
    expect(Buffer.from(await res.arrayBuffer()).equals(bigBody)).toBe(true);
    await expect
      .poll(() =>
        metricValue(registry, 'strangler_shadow_comparisons_total', { entity: 'orders', route: 'GET /orders/:id', result: 'shed' }),
      )
      .toBe(1);
    expect(submissions).toHaveLength(0);
  });
});
