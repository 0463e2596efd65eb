import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAdminServer } from '../../src/admin/adminServer.ts';
import { createShadowRouter } from '../../src/admin/shadowRoutes.ts';
import {
  createShadow,
  NOISE_WARMUP,
  type EntitySummary,
  type ShadowComparer,
  type ShadowOptions,
} from '../../src/canary/shadow/createShadow.ts';
import { createLegacyReread } from '../../src/canary/shadow/legacyReread.ts';
import type { ShadowResult } from '../../src/canary/readStats.ts';
import type { LegacyAnswer } from '../../src/canary/shadowTypes.ts';
import type { ReadSpec } from '../../src/config/schema.ts';
import { Secret } from '../../src/config/secret.ts';
import { createPgExecutor } from '../../src/db/pgExecutor.ts';
import type { Executor } from '../../src/db/executor.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { createMetrics } from '../../src/metrics/metrics.ts';
import type { ReadAnswer, ReadHandler, ReadRequest } from '../../src/reads/types.ts';
import { createPgTestDb, type TestDb } from '../harness/db.ts';
import { metricValue } from '../helpers/metrics.ts';
import { prng, seededRandom } from '../helpers/seed.ts';
import { startTestSidecar } from '../helpers/sidecar.ts';
import { sleep, until } from '../e2e/fixtures/wait.ts';

// The shadow comparison against a real legacy (an HTTP server) and a real read model
// (PostgreSQL, read by a handler the way a sample's handler reads it). The tests hand
// comparisons to the shadow the way the read path does: legacy's answer as the client got it.

const ROUTE = 'GET /orders/:id';
const rand = seededRandom('shadow comparison');

interface Item {
  sku: string;
  qty: number;
  price: string;
}
interface Order {
  id: string;
  status: string;
  total: string;
  note: string;
  items: Item[];
}

const orders: Order[] = Array.from({ length: 12 }, (_, i) => ({
  id: `ord_${i}`,
  status: rand.pick(['new', 'paid', 'shipped']),
  total: `${rand.int(1, 500)}.${String(rand.int(0, 100)).padStart(2, '0')}`,
  note: `legacy note ${i}`,
  items: Array.from({ length: rand.int(1, 4) }, (_, j) => ({
    sku: `sku-${i}-${j}`,
    qty: rand.int(1, 5),
    price: `${rand.int(1, 90)}.${String(rand.int(0, 100)).padStart(2, '0')}`,
  })),
}));

/** Legacy: orders as JSON; with `noise`, a servedAt (and per-item checkedAt) that changes on every read. */
interface Legacy {
  url: string;
  reads: number;
  /** Headers of the latest request. */
  headers: http.IncomingHttpHeaders;
  noise: boolean;
  gzip: boolean;
  /** Requests to /slow, held until answered through this list. */
  held: http.ServerResponse[];
  close(): Promise<void>;
}

async function startLegacy(): Promise<Legacy> {
  let served = 0;
  const legacy: Legacy = { url: '', reads: 0, headers: {}, noise: false, gzip: false, held: [], close: async () => undefined };
  const server = http.createServer((req, res) => {
    if (req.url === '/slow') return void legacy.held.push(res);
    legacy.reads++;
    legacy.headers = req.headers;
    const id = /^\/orders\/([^/?]+)/.exec(req.url ?? '')?.[1];
    const order = orders.find((o) => o.id === id);
    const at = (n: number) => new Date(Date.UTC(2026, 0, 1) + n * 1000).toISOString();
    const n = ++served;
    const body = order
      ? {
          ...(legacy.noise ? { servedAt: at(n) } : {}),
          order: {
            id: order.id,
            status: order.status,
            total: order.total,
            internalNote: order.note,
            items: order.items.map((it) => ({ ...it, ...(legacy.noise ? { checkedAt: at(n) } : {}) })),
          },
        }
      : { error: 'not_found', message: `Order ${id} not found` };
    let bytes = Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
    if (legacy.gzip) {
      bytes = zlib.gzipSync(bytes);
      headers['content-encoding'] = 'gzip';
    }
    res.writeHead(order ? 200 : 404, { ...headers, 'content-length': String(bytes.length) });
    res.end(bytes);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  legacy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  legacy.close = () =>
    new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  return legacy;
}

/** The read model's handler: rows → the same JSON as legacy, keys in another order, no internal note. */
function orderHandler(db: Executor): ReadHandler {
  return {
    route: ROUTE,
    async handle(req) {
      const id = req.params['id'] ?? '';
      const { rows } = await db.query<{ id: string; status: string; total: string }>('SELECT id, status, total FROM orders WHERE id = $1', [
        id,
      ]);
      const row = rows[0];
      if (!row) return { status: 404, body: { message: `Order ${id} not found`, error: 'not_found' } };
      const items = await db.query<{ sku: string; qty: number; price: string }>(
        'SELECT sku, qty, price FROM order_items WHERE order_id = $1 ORDER BY line',
        [id],
      );
      return {
        status: 200,
        body: {
          order: { items: items.rows.map((r) => ({ price: r.price, qty: r.qty, sku: r.sku })), total: row.total, status: row.status, id },
        },
      };
    },
  };
}

let pg: TestDb;
let db: Executor;
let legacy: Legacy;
const agent = new http.Agent({ keepAlive: true });
const planted = orders[rand.int(0, orders.length)]!;
const plantedLine = rand.int(0, planted.items.length);

beforeAll(async () => {
  pg = await createPgTestDb('shadow');
  db = createPgExecutor({ url: pg.url, max: 4 });
  await db.exec(`CREATE TABLE orders (id text PRIMARY KEY, status text NOT NULL, total numeric(10,2) NOT NULL);
    CREATE TABLE order_items (order_id text NOT NULL, line int NOT NULL, sku text NOT NULL, qty int NOT NULL, price numeric(10,2) NOT NULL,
      PRIMARY KEY (order_id, line));`);
  for (const o of orders) {
    await db.query('INSERT INTO orders (id, status, total) VALUES ($1, $2, $3)', [o.id, o.status, o.total]);
    for (const [line, it] of o.items.entries()) {
      // The planted difference: one item's price is one cent off in the read model.
      const price = o === planted && line === plantedLine ? (Number(it.price) + 0.01).toFixed(2) : it.price;
      await db.query('INSERT INTO order_items (order_id, line, sku, qty, price) VALUES ($1, $2, $3, $4, $5)', [
        o.id,
        line,
        it.sku,
        it.qty,
        price,
      ]);
    }
  }
  legacy = await startLegacy();
});

afterAll(async () => {
  agent.destroy();
  await legacy.close();
  await db.close();
  await pg.drop();
});

const shadows: ShadowComparer[] = [];
afterEach(async () => {
  for (const s of shadows.splice(0)) await s.stop();
  legacy.noise = false;
  legacy.gzip = false;
});

const reads = (ignore: ReadSpec['ignore'] = []): ReadSpec[] => [
  { route: ROUTE, handler: './orders.ts', ignore },
  { route: 'GET /orders', handler: './list.ts', ignore: [] },
];

function setup(over: Partial<ShadowOptions> & { ignore?: ReadSpec['ignore']; handler?: ReadHandler } = {}) {
  const registry = new Registry();
  const metrics = createMetrics(registry);
  const seen: [string, string, ShadowResult][] = [];
  const settings = {
    sampleRate: 0.1,
    maxConcurrent: 16,
    maxDeferMs: 50,
    timeoutMs: 5_000,
    noiseSampleRate: 0,
    maxBodyBytes: 1_048_576,
    maxSamples: 50,
  };
  const shadow = createShadow({
    settings: { ...settings, ...over.settings },
    entities: { orders: { reads: reads(over.ignore) } },
    handlers: new Map([['orders', new Map([[ROUTE, over.handler ?? orderHandler(db)]])]]),
    db,
    reread: createLegacyReread({ upstream: new URL(legacy.url), agent, timeoutMs: 5_000, maxBodyBytes: 1_048_576 }),
    metrics,
    stats: { read: () => undefined, shadow: (e, r, result) => seen.push([e, r, result]) },
    logger: silentLogger(),
    random: prng(rand.seed),
    ...(over.reread !== undefined ? { reread: over.reread } : {}),
  });
  shadows.push(shadow);
  return { shadow, registry, seen };
}

/** Legacy's answer to GET /orders/:id, as the read path taps it for the shadow. */
async function legacyAnswer(id: string): Promise<LegacyAnswer> {
  return new Promise((resolve, reject) => {
    http
      .get(`${legacy.url}/orders/${id}`, { agent, headers: { 'x-user-id': 'u1' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      })
      .once('error', reject);
  });
}

const request = (id: string): ReadRequest => ({
  method: 'GET',
  url: `/orders/${id}`,
  params: { id },
  query: new URLSearchParams(),
  headers: { host: 'shop.example', 'x-user-id': 'u1', connection: 'keep-alive' },
});

async function compare(shadow: ShadowComparer, ids: readonly string[]) {
  for (const id of ids) shadow.submit({ entity: 'orders', route: ROUTE, request: request(id), legacy: await legacyAnswer(id) });
  await shadow.idle();
  return shadow.summary('orders')!;
}

const others = orders.filter((o) => o !== planted).map((o) => o.id);

describe('shadow comparison', () => {
  it('finds the planted read-model difference with its path and both values; the rest match (key order aside)', async () => {
    const { shadow, registry, seen } = setup({ ignore: [{ path: '$.order.internalNote', reason: 'legacy-only field' }] });
    const s = await compare(shadow, [...others, planted.id, 'ord_missing']);
    const route = s.routes[ROUTE]!;
    expect(route).toMatchObject({ match: others.length + 1, mismatch: 1, error: 0, shed: 0, noisy: 0, handled: true });
    expect(route.mismatchRate).toBeCloseTo(1 / (others.length + 2));
    expect(s.samples).toHaveLength(1);
    const legacyPrice = planted.items[plantedLine]!.price;
    expect(s.samples[0]).toMatchObject({
      route: ROUTE,
      url: `/orders/${planted.id}`,
      status: { legacy: 200, readModel: 200 },
      diffs: [{ path: `$.order.items[${plantedLine}].price`, legacy: legacyPrice, readModel: (Number(legacyPrice) + 0.01).toFixed(2) }],
      more: 0,
    });
    expect(await metricValue(registry, 'strangler_shadow_comparisons_total', { entity: 'orders', route: ROUTE, result: 'mismatch' })).toBe(
      1,
    );
    expect(await metricValue(registry, 'strangler_shadow_comparisons_total', { entity: 'orders', route: ROUTE, result: 'match' })).toBe(
      others.length + 1,
    );
    expect(seen.filter(([, , r]) => r === 'mismatch')).toEqual([['orders', ROUTE, 'mismatch']]);
  });

  it('compares nothing while the read model is behind for the read (fresh → false): the planted difference is not counted then', async () => {
    const { shadow, seen } = setup({ ignore: [{ path: '$.order.internalNote', reason: 'legacy-only field' }] });
    const asked: string[] = [];
    for (const id of [planted.id, others[0]!])
      shadow.submit({
        ...{ entity: 'orders', route: ROUTE, request: request(id), legacy: await legacyAnswer(id) },
        fresh: async () => {
          asked.push(id);
          return id !== planted.id; // the planted order's latest event not applied yet
        },
      });
    await shadow.idle();
    // Asked only where the answers differ: a match needs no freshness check (one query less).
    expect(asked).toEqual([planted.id]);
    expect(shadow.summary('orders')!.routes[ROUTE]).toMatchObject({ match: 1, mismatch: 0, error: 0, shed: 0, noisy: 0 });
    expect(seen).toEqual([['orders', ROUTE, 'match']]);
  });

  it('a difference with the read model caught up for the key is confirmed by asking it again: counted by that second answer', async () => {
    const ignore = [{ path: '$.order.internalNote', reason: 'legacy-only field' }];
    // The read model as it is (the planted price off by a cent) on the first ask, and, from the
    // second ask on, as the projection leaves it once it has applied the key's latest event.
    const base = orderHandler(db);
    const caughtUp = (id: string) => {
      const o = orders.find((x) => x.id === id)!;
      return (answer: ReadAnswer): ReadAnswer => {
        const body = structuredClone(answer.body) as { order: { items: { price: string }[] } };
        body.order.items[plantedLine]!.price = o.items[plantedLine]!.price;
        return { ...answer, body };
      };
    };
    for (const [label, behindFirst, expected] of [
      ['caught up in between', true, { match: 1, mismatch: 0 }],
      ['still different', false, { match: 0, mismatch: 1 }],
    ] as const) {
      const asks: number[] = [];
      const handler: ReadHandler = {
        route: base.route,
        async handle(req, ctx) {
          asks.push(Date.now());
          const answer = await base.handle(req, ctx);
          return behindFirst && asks.length > 1 ? caughtUp(planted.id)(answer) : answer;
        },
      };
      const { shadow } = setup({ ignore, handler });
      let freshAsked = 0;
      shadow.submit({
        ...{ entity: 'orders', route: ROUTE, request: request(planted.id), legacy: await legacyAnswer(planted.id) },
        fresh: async () => (freshAsked++, true),
      });
      await shadow.idle();
      expect({ label, asks: asks.length, freshAsked }).toEqual({ label, asks: 2, freshAsked: 1 });
      expect(shadow.summary('orders')!.routes[ROUTE], label).toMatchObject({ ...expected, error: 0, shed: 0, noisy: 0 });
    }
  });

  it("a write landing between legacy's answer and the comparison is no mismatch: the second look reads legacy again too", async () => {
    // The client reads an order, then changes it; legacy and the projection both apply the
    // change before the comparison of the read runs (it waited for a quiet moment).
    const o: Order = { id: 'ord_race', status: 'new', total: '10.00', note: 'race', items: [{ sku: 'race-1', qty: 1, price: '10.00' }] };
    orders.push(o);
    await db.query('INSERT INTO orders (id, status, total) VALUES ($1, $2, $3)', [o.id, o.status, o.total]);
    await db.query('INSERT INTO order_items (order_id, line, sku, qty, price) VALUES ($1, 0, $2, $3, $4)', [o.id, 'race-1', 1, '10.00']);
    try {
      const { shadow } = setup({ ignore: [{ path: '$.order.internalNote', reason: 'legacy-only field' }] });
      // Past the noise warm-up (whose double legacy reads would see the write as noise instead).
      await compare(shadow, others.slice(0, NOISE_WARMUP));
      const before = await legacyAnswer(o.id);
      o.status = 'paid';
      await db.query("UPDATE orders SET status = 'paid' WHERE id = $1", [o.id]);
      const readsBefore = legacy.reads;
      shadow.submit({ entity: 'orders', route: ROUTE, request: request(o.id), legacy: before, fresh: async () => true });
      await shadow.idle();
      expect(shadow.summary('orders')!.routes[ROUTE]).toMatchObject({ match: NOISE_WARMUP + 1, mismatch: 0, error: 0, shed: 0, noisy: 0 });
      expect(legacy.reads - readsBefore).toBe(1); // the second look's legacy read
      // The planted difference, judged the same way, is still counted ('still different' above).
    } finally {
      orders.splice(orders.indexOf(o), 1);
      await db.query('DELETE FROM order_items WHERE order_id = $1', [o.id]);
      await db.query('DELETE FROM orders WHERE id = $1', [o.id]);
    }
  });

  it('without the ignore rule the legacy-only field is a mismatch on every order; with it, never', async () => {
    const without = await compare(setup().shadow, others.slice(0, 3));
    expect(without.routes[ROUTE]).toMatchObject({ match: 0, mismatch: 3 });
    expect(without.samples[0]?.diffs).toEqual([{ path: '$.order.internalNote', legacy: orders.find((o) => o.id === others[2])!.note }]);
    const withRule = await compare(setup({ ignore: [{ path: '$.order.internalNote', reason: 'legacy-only' }] }).shadow, others.slice(0, 3));
    expect(withRule.routes[ROUTE]).toMatchObject({
      match: 3,
      mismatch: 0,
      ignored: [{ path: '$.order.internalNote', reason: 'legacy-only' }],
    });
  });

  it('marks fields that change on every legacy read as noisy (indices as [*]), lists them, never counts them as mismatches', async () => {
    legacy.noise = true;
    const { shadow, registry } = setup({ ignore: [{ path: '$.order.internalNote', reason: 'legacy-only' }] });
    const before = legacy.reads;
    const s = await compare(shadow, others);
    const route = s.routes[ROUTE]!;
    expect(route).toMatchObject({ match: 0, mismatch: 0, noisy: others.length, error: 0 });
    expect(route.noisyPaths.sort()).toEqual(['$.order.items[*].checkedAt', '$.servedAt']);
    expect(s.samples).toEqual([]);
    // The first comparisons read legacy twice (noise learnt fast); with noiseSampleRate 0, no others do.
    expect(legacy.reads - before).toBe(others.length + NOISE_WARMUP);
    expect(await metricValue(registry, 'strangler_shadow_comparisons_total', { entity: 'orders', route: ROUTE, result: 'noisy' })).toBe(
      others.length,
    );
    // A real difference next to noise is still a mismatch, and only it is listed.
    const again = await compare(shadow, [planted.id]);
    expect(again.routes[ROUTE]).toMatchObject({ mismatch: 1 });
    expect(again.samples[0]?.diffs.map((d) => d.path)).toEqual([`$.order.items[${plantedLine}].price`]);
  });

  it("reads legacy a second time with the client's path and headers, minus hop-by-hop and conditional ones", async () => {
    const { shadow } = setup({ ignore: [{ path: '$.order.internalNote', reason: 'legacy-only' }] });
    const id = others[0]!;
    const before = legacy.reads;
    const req: ReadRequest = {
      ...request(id),
      headers: {
        host: 'shop.example',
        'x-user-id': 'u7',
        connection: 'keep-alive, x-hop',
        'x-hop': 'only for the next hop',
        'proxy-authorization': 'Basic c2VjcmV0',
        'if-none-match': '"v1"',
      },
    };
    shadow.submit({ entity: 'orders', route: ROUTE, request: req, legacy: await legacyAnswer(id) });
    await shadow.idle();
    expect(legacy.reads - before).toBe(2); // the client's read (legacyAnswer) and the second one
    expect(legacy.headers).toMatchObject({ host: 'shop.example', 'x-user-id': 'u7' });
    for (const gone of ['x-hop', 'proxy-authorization', 'if-none-match']) expect(legacy.headers[gone]).toBeUndefined();
    expect(shadow.summary('orders')!.routes[ROUTE]).toMatchObject({ match: 1 });
  });

  it('decodes a gzip-encoded legacy answer before comparing', async () => {
    legacy.gzip = true;
    const s = await compare(setup({ ignore: [{ path: '$.order.internalNote', reason: 'legacy-only' }] }).shadow, others.slice(0, 2));
    expect(s.routes[ROUTE]).toMatchObject({ match: 2, error: 0 });
  });

  it('sheds over maxConcurrent (counted at once), and compares the rest', async () => {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    let started = 0;
    const real = orderHandler(db);
    const gated: ReadHandler = {
      route: ROUTE,
      handle: async (req, ctx) => {
        started++;
        await gate;
        return real.handle(req, ctx);
      },
    };
    const { shadow, registry } = setup({ handler: gated, settings: { maxConcurrent: 2 } as ShadowOptions['settings'] });
    const ids = others.slice(0, 5);
    const answers = await Promise.all(ids.map(legacyAnswer));
    ids.forEach((id, i) => shadow.submit({ entity: 'orders', route: ROUTE, request: request(id), legacy: answers[i]! }));
    expect(shadow.summary('orders')!.routes[ROUTE]!.shed).toBe(3);
    expect(started).toBe(0); // submit never runs the comparison on the caller's path
    open();
    await shadow.idle();
    expect(started).toBe(2);
    expect(shadow.summary('orders')!.routes[ROUTE]).toMatchObject({ shed: 3, mismatch: 2 });
    expect(await metricValue(registry, 'strangler_shadow_comparisons_total', { entity: 'orders', route: ROUTE, result: 'shed' })).toBe(3);
  });

  it('sheds a legacy body over maxBodyBytes, and a 304 with nothing to compare', async () => {
    const { shadow } = setup({ settings: { maxBodyBytes: 10 } as ShadowOptions['settings'] });
    shadow.submit({ entity: 'orders', route: ROUTE, request: request(others[0]!), legacy: await legacyAnswer(others[0]!) });
    shadow.submit({
      entity: 'orders',
      route: ROUTE,
      request: request(others[0]!),
      legacy: { status: 304, headers: {}, body: Buffer.alloc(0) },
    });
    await shadow.idle();
    expect(shadow.summary('orders')!.routes[ROUTE]).toMatchObject({ shed: 2, match: 0, mismatch: 0 });
  });

  it('a read model slower than timeoutMs is an error, and its handler is told to stop', async () => {
    let aborted = false;
    const stuck: ReadHandler = {
      route: ROUTE,
      handle: (_req, ctx) =>
        new Promise((_, reject) => {
          ctx.signal.addEventListener('abort', () => {
            aborted = true;
            reject(new Error('aborted'));
          });
        }),
    };
    const { shadow, registry } = setup({ handler: stuck, settings: { timeoutMs: 20 } as ShadowOptions['settings'] });
    const s = await compare(shadow, [others[0]!]);
    expect(s.routes[ROUTE]).toMatchObject({ error: 1, match: 0 });
    expect(s.routes[ROUTE]!.lastError?.message).toMatch(/within 20 ms \(canary\.shadow\.timeoutMs\)/);
    expect(aborted).toBe(true);
    expect(await metricValue(registry, 'strangler_shadow_comparisons_total', { entity: 'orders', route: ROUTE, result: 'error' })).toBe(1);
  });

  it('stop() ends comparisons in flight (their handlers told to stop), counts nothing for them and takes no more', async () => {
    let aborted = 0;
    const stuck: ReadHandler = {
      route: ROUTE,
      handle: (_req, ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error(String(++aborted))))),
    };
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    const handler: ReadHandler = { route: ROUTE, handle: (req, ctx) => (entered(), stuck.handle(req, ctx)) };
    const { shadow, seen } = setup({ handler, reread: null });
    shadow.submit({ entity: 'orders', route: ROUTE, request: request(others[0]!), legacy: await legacyAnswer(others[0]!) });
    await inside;
    await shadow.stop();
    expect(aborted).toBe(1);
    shadow.submit({ entity: 'orders', route: ROUTE, request: request(others[0]!), legacy: await legacyAnswer(others[0]!) });
    expect(shadow.wanted('orders', ROUTE, 'shadow')).toBe(false);
    await shadow.idle();
    expect(seen).toEqual([]);
    expect(shadow.summary('orders')!.routes[ROUTE]).toMatchObject({ match: 0, mismatch: 0, error: 0, shed: 0, noisy: 0 });
  });

  it('a failing read model is an error with its message', async () => {
    const broken: ReadHandler = {
      route: ROUTE,
      handle: (_req, ctx) => ctx.db.query('SELECT * FROM no_such_table').then(() => ({ status: 200, body: {} })),
    };
    const s = await compare(setup({ handler: broken }).shadow, [others[0]!]);
    expect(s.routes[ROUTE]).toMatchObject({ error: 1 });
    expect(s.routes[ROUTE]!.lastError?.message).toMatch(/no_such_table/);
  });

  it('keeps the newest maxSamples mismatches', async () => {
    const { shadow } = setup({ settings: { maxSamples: 2 } as ShadowOptions['settings'] });
    const s = await compare(shadow, others.slice(0, 4));
    expect(s.routes[ROUTE]!.mismatch).toBe(4);
    expect(s.samples.map((x) => x.url)).toEqual([`/orders/${others[3]}`, `/orders/${others[2]}`]);
  });

  it('wants every read in shadow, a sampleRate share in canary, none in dual_write or complete, none without a handler', () => {
    const { shadow } = setup({ settings: { sampleRate: 0.25 } as ShadowOptions['settings'], random: prng(rand.seed) });
    const n = 4000;
    const inCanary = Array.from({ length: n }, () => shadow.wanted('orders', ROUTE, 'canary')).filter(Boolean).length;
    expect(Math.abs(inCanary / n - 0.25)).toBeLessThan(0.03);
    expect(shadow.wanted('orders', ROUTE, 'shadow')).toBe(true);
    expect(shadow.wanted('orders', ROUTE, 'dual_write')).toBe(false);
    expect(shadow.wanted('orders', ROUTE, 'complete')).toBe(false);
    expect(shadow.wanted('orders', 'GET /orders', 'shadow')).toBe(false);
    expect(shadow.wanted('customers', ROUTE, 'shadow')).toBe(false);
  });
});

describe('GET /admin/shadow', () => {
  const tokens = [{ name: 'watch', role: 'viewer' as const, secret: new Secret('viewer-token') }];
  let server: http.Server;
  let base: string;
  let shadow: ShadowComparer;

  beforeAll(async () => {
    shadow = createShadow({
      settings: {
        sampleRate: 0.1,
        maxConcurrent: 4,
        maxDeferMs: 0,
        timeoutMs: 5_000,
        noiseSampleRate: 0,
        maxBodyBytes: 1_048_576,
        maxSamples: 5,
      },
      entities: { orders: { reads: reads() }, customers: { reads: [] } },
      handlers: new Map([['orders', new Map([[ROUTE, orderHandler(db)]])]]),
      db,
      reread: null,
      metrics: createMetrics(new Registry()),
      logger: silentLogger(),
      random: prng(rand.seed),
    });
    await compare(shadow, [planted.id]);
    server = createAdminServer({
      registry: new Registry(),
      logger: silentLogger(),
      readiness: { ready: () => true, details: () => Promise.resolve({}) },
      routers: [{ path: '/admin', router: createShadowRouter({ summary: shadow.summary, tokens }) }],
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await shadow.stop();
    await new Promise((r) => server.close(r));
  });

  const get = async (path: string, token: string | null = 'viewer-token') => {
    const res = await fetch(base + path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    return { status: res.status, body: (await res.json()) as { entities: Record<string, EntitySummary>; detail?: string; title?: string } };
  };

  it('answers every entity, or one, with counts, ignore rules and samples', async () => {
    const all = await get('/admin/shadow');
    expect(all.status).toBe(200);
    expect(Object.keys(all.body.entities)).toEqual(['orders', 'customers']);
    const one = await get('/admin/shadow?entity=orders');
    expect(one.status).toBe(200);
    const orders = one.body.entities['orders']!;
    expect(orders.routes[ROUTE]).toMatchObject({ handled: true, mismatch: 1, mismatchRate: 1, noisyPaths: [], ignored: [] });
    expect(orders.routes['GET /orders']).toMatchObject({ handled: false, match: 0, mismatchRate: null });
    expect(orders.samples[0]!.diffs.map((d) => d.path)).toContain(`$.order.items[${plantedLine}].price`);
    expect(typeof orders.samples[0]!.at).toBe('string');
  });

  it('400 naming the field for a bad query, 404 for an unknown entity, 401 without a valid token', async () => {
    const unknownParam = await get('/admin/shadow?entty=orders');
    expect(unknownParam).toMatchObject({ status: 400, body: { title: 'bad_request' } });
    expect(unknownParam.body.detail).toMatch(/entty.*Example: \/admin\/shadow\?entity=orders/);
    const twice = await get('/admin/shadow?entity=orders&entity=customers');
    expect(twice.status).toBe(400);
    expect(twice.body.detail).toMatch(/^entity must be one entity name/);
    const empty = await get('/admin/shadow?entity=');
    expect(empty.status).toBe(400);
    const missing = await get('/admin/shadow?entity=invoices');
    expect(missing.status).toBe(404);
    expect(missing.body.detail).toMatch(/No entity "invoices".*orders, customers/);
    expect((await get('/admin/shadow', null)).status).toBe(401);
    expect((await get('/admin/shadow', 'wrong')).status).toBe(401);
  });
});

describe('in a sidecar', () => {
  it('serves GET /admin/shadow on the admin port and lists it among the endpoints', async () => {
    const store = await createPgTestDb('shadow_sidecar');
    const sidecar = await startTestSidecar({
      upstream: legacy.url,
      eventStoreUrl: store.url,
      configure: (config) => {
        config.admin.resolvedTokens = [{ name: 'watch', role: 'viewer', secret: new Secret('viewer-token') }];
      },
    });
    try {
      const res = await fetch(`${sidecar.adminUrl}/admin/shadow?entity=orders`, { headers: { authorization: 'Bearer viewer-token' } });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { entities: Record<string, { routes: Record<string, unknown>; samples: unknown[] }> };
      expect(Object.keys(body.entities)).toEqual(['orders']);
      expect(Object.keys(body.entities['orders']!.routes)).toEqual(sidecar.config.entities['orders']!.reads.map((r) => r.route));
      const nowhere = await fetch(`${sidecar.adminUrl}/admin/nowhere`);
      expect(((await nowhere.json()) as { detail: string }).detail).toContain('/admin/shadow');
    } finally {
      await sidecar.stop();
      await store.drop();
    }
  });

  it('in shadow, a comparison waits until no client request is in flight on the public port', async () => {
    const store = await createPgTestDb('shadow_quiet');
    const asked: string[] = [];
    const handler = (route: string): ReadHandler => ({
      route,
      async handle(req) {
        asked.push(req.url);
        return { status: 404, body: { error: 'not_found', message: 'none here' } };
      },
    });
    const sidecar = await startTestSidecar({
      upstream: legacy.url,
      eventStoreUrl: store.url,
      readHandlers: new Map([['orders', new Map(['GET /orders/:id', 'GET /orders'].map((r) => [r, handler(r)]))]]),
      configure: (config) => {
        config.canary.shadow.maxDeferMs = 600_000; // only a quiet port starts it here
      },
    });
    try {
      await sidecar.canary.change({
        entity: 'orders',
        change: { action: 'set', stage: 'shadow' },
        actor: 'test',
        source: 'api',
        reason: 'compare',
      });
      expect(sidecar.canary.current('orders').stage).toBe('shadow');
      const slow = fetch(`${sidecar.publicUrl}/slow`); // a passthrough request legacy holds
      await until(() => legacy.held.length === 1, 'legacy to hold /slow', 10_000, 5);
      const read = await fetch(`${sidecar.publicUrl}/orders/${others[0]}`);
      expect(read.status).toBe(200);
      await read.arrayBuffer();
      await sleep(200); // at once, the comparison would have asked the read model by now
      expect(asked).toEqual([]);
      legacy.held.shift()!.end('done');
      expect(await (await slow).text()).toBe('done');
      await until(() => asked.length === 1, 'the comparison to ask the read model', 10_000, 5);
      expect(asked).toEqual([`/orders/${others[0]}`]);
    } finally {
      for (const res of legacy.held.splice(0)) res.end();
      await sidecar.stop();
      await store.drop();
    }
  });
});
