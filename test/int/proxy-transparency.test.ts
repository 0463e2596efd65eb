/**
 * The sidecar is invisible: the same request sent straight to legacy and through the
 * sidecar gets the same status, the same end-to-end headers and the same body bytes
 * (test/helpers/rawHttp.ts lists the headers left out of the comparison and why). Legacy
 * is the sample orders service on a real PostgreSQL database; the event store is another
 * real PostgreSQL database. Commands through the sidecar append exactly one event on 2xx
 * and nothing otherwise. Upstream failures are answered 502/504 with problem+json and counted.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, startLegacyOrders, type RunningLegacyOrders } from '../../examples/legacy-orders/index.ts';
import type { Executor } from '../../src/db/executor.ts';
import { createPgExecutor } from '../../src/db/pgExecutor.ts';
import { createPgTestDb, type TestDb } from '../harness/db.ts';
import { startEchoUpstream, type EchoUpstream } from '../helpers/echoUpstream.ts';
import { metricValue } from '../helpers/metrics.ts';
import {
  answerGarbage,
  closedPort,
  hangUp,
  neverAnswer,
  startOddUpstream,
  truncatedBody,
  type Behaviour,
  type OddUpstream,
} from '../helpers/oddUpstream.ts';
import { endToEndHeaders, rawHeader, rawRequest, type RawRequest, type RawResponse } from '../helpers/rawHttp.ts';
import { startTestSidecar } from '../helpers/sidecar.ts';

type TestSidecar = Awaited<ReturnType<typeof startTestSidecar>>;

const JSON_HEADERS: [string, string][] = [['Content-Type', 'application/json']];
const ORDER = (customerId: string) => JSON.stringify({ customerId, items: [{ sku: 'SKU-1', quantity: 2, price: '9.99' }] });
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const LOOPBACK = /^(::ffff:)?127\.0\.0\.1$/;

let legacyDb: TestDb;
let storeDb: TestDb;
let db: Executor;
let legacy: RunningLegacyOrders;
let sidecar: TestSidecar;

beforeAll(async () => {
  [legacyDb, storeDb] = await Promise.all([createPgTestDb('transparency_legacy'), createPgTestDb('transparency_store')]);
  db = createPgExecutor({ url: legacyDb.url });
  await migrate(db);
  // Small export pages with a pause between them: a proxy that buffered the stream would
  // deliver it in one piece.
  legacy = await startLegacyOrders({ db, port: 0, exportPageSize: 2, exportDelayMs: 15 });
  sidecar = await startTestSidecar({
    upstream: legacy.url,
    eventStoreUrl: storeDb.url,
    // A generous append wait so every 2xx command's event is in the store when the client
    // has its answer (the spool path has tests of its own); the test asserts nothing was spooled.
    configure: (c) => {
      c.eventStore.appendTimeoutMs = 10_000;
    },
  });
});

afterAll(async () => {
  await sidecar?.stop();
  await legacy?.close();
  await db?.close();
  await Promise.all([legacyDb?.drop(), storeDb?.drop()]);
});

const direct = (r: RawRequest) => rawRequest(legacy.url, r);
const via = (r: RawRequest) => rawRequest(sidecar.publicUrl, r);

/** The same request to legacy, then through the sidecar. */
async function both(r: RawRequest): Promise<{ legacy: RawResponse; sidecar: RawResponse }> {
  const a = await direct(r);
  const b = await via(r);
  return { legacy: a, sidecar: b };
}

function expectIdentical(a: RawResponse, b: RawResponse): void {
  expect(b.status).toBe(a.status);
  expect(b.statusMessage).toBe(a.statusMessage);
  expect(endToEndHeaders(b.rawHeaders)).toEqual(endToEndHeaders(a.rawHeaders));
  expect(b.body.length).toBe(a.body.length);
  expect(
    b.body.equals(a.body),
    `body bytes differ:\nlegacy:  ${a.body.toString('utf8', 0, 500)}\nsidecar: ${b.body.toString('utf8', 0, 500)}`,
  ).toBe(true);
}

/**
 * Two orders created the same way differ only in their id and their timestamps, and so
 * in what is derived from those bytes (Location, ETag). Comparing such answers: mask the
 * id and the timestamps (both fixed-width, so Content-Length must still be equal), and
 * compare every other header value and every other body byte exactly.
 */
function masked(r: RawResponse, id: string): { status: number; statusMessage: string; headers: [string, string][]; body: string } {
  const mask = (s: string) => s.replaceAll(id, '<id>').replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z/g, '<time>');
  return {
    status: r.status,
    statusMessage: r.statusMessage,
    headers: endToEndHeaders(r.rawHeaders).map(([n, v]) => [n, n === 'etag' ? '<etag of the masked bytes>' : mask(v)]),
    body: mask(r.body.toString('utf8')),
  };
}

const json = (r: RawResponse) => JSON.parse(r.body.toString('utf8')) as Record<string, unknown>;

async function createVia(base: 'legacy' | 'sidecar', customerId: string): Promise<{ id: string; res: RawResponse }> {
  const res = await (base === 'legacy' ? direct : via)({ method: 'POST', path: '/orders', headers: JSON_HEADERS, body: ORDER(customerId) });
  expect(res.status).toBe(201);
  return { id: String(json(res).id), res };
}

const stream = (id: string) => sidecar.store.readStream(`orders-${id}`);
async function totalEvents(): Promise<number> {
  const { rows } = await sidecar.store.db.query<{ n: string | number }>('SELECT count(*) AS n FROM strangler_events');
  return Number(rows[0]!.n);
}

describe('answers through the sidecar are the legacy answers', () => {
  it('POST /orders: 201 identical but for the new id and timestamps; exactly one OrderCreated on orders-<id>', async () => {
    const before = await totalEvents();
    const a = await createVia('legacy', 'cust-create');
    const b = await createVia('sidecar', 'cust-create');
    expect(masked(b.res, b.id)).toEqual(masked(a.res, a.id));
    expect(rawHeader(b.res.rawHeaders, 'location')).toBe(`/orders/${b.id}`);

    const events = await stream(b.id);
    expect(events.map((e) => e.type)).toEqual(['OrderCreated']);
    expect((events[0]!.data as { id: string }).id).toBe(b.id);
    expect(await stream(a.id)).toEqual([]); // created behind the sidecar's back: no event
    expect(await totalEvents()).toBe(before + 1);
  });

  it('GET /orders/:id of an existing order: identical', async () => {
    const { id } = await createVia('sidecar', 'cust-get');
    const r = await both({ path: `/orders/${id}` });
    expect(r.legacy.status).toBe(200);
    expectIdentical(r.legacy, r.sidecar);
  });

  it("GET of an unknown order and of an unknown route: legacy's own 404 body", async () => {
    for (const path of ['/orders/ord_ffffffffffffffff', '/no/such/route?x=1']) {
      const r = await both({ path });
      expect(r.legacy.status).toBe(404);
      expect(json(r.sidecar).error).toBe('not_found');
      expectIdentical(r.legacy, r.sidecar);
    }
  });

  it('GET /orders?customerId= (a list) and GET /orders (all): identical', async () => {
    for (let n = 0; n < 3; n++) await createVia('sidecar', 'cust-list');
    for (const path of ['/orders?customerId=cust-list', '/orders']) {
      const r = await both({ path });
      expect(r.legacy.status).toBe(200);
      expectIdentical(r.legacy, r.sidecar);
    }
    const r = await via({ path: '/orders?customerId=cust-list' });
    expect(JSON.parse(r.body.toString('utf8'))).toHaveLength(3);
  });

  it('HEAD /orders/:id: identical headers (Content-Length of the GET), no body', async () => {
    const { id } = await createVia('sidecar', 'cust-head');
    const r = await both({ method: 'HEAD', path: `/orders/${id}` });
    expect(r.legacy.status).toBe(200);
    expect(r.sidecar.body.length).toBe(0);
    expectIdentical(r.legacy, r.sidecar);
  });

  it('a 5 MB upload (PUT /orders/:id/attachment) arrives byte for byte: same sha256 answer', async () => {
    const payload = randomBytes(5 * 1024 * 1024);
    const sha256 = createHash('sha256').update(payload).digest('hex');
    const r = await both({
      method: 'PUT',
      path: '/orders/ord_0123456789abcdef/attachment',
      headers: [['Content-Type', 'application/octet-stream']],
      body: payload,
    });
    expect(json(r.sidecar)).toEqual({ bytes: payload.length, sha256 });
    expectIdentical(r.legacy, r.sidecar);
  });

  it('GET /orders/export streams: chunked through the sidecar too, same bytes, in several pieces', async () => {
    // Six orders of its own (three pages of two): the test counts no order another test created.
    const created: string[] = [];
    for (let n = 0; n < 6; n++) created.push((await createVia('sidecar', 'cust-export')).id);
    const r = await both({ path: '/orders/export' });
    expect(r.legacy.status).toBe(200);
    expect(rawHeader(r.legacy.rawHeaders, 'transfer-encoding')).toBe('chunked');
    expect(rawHeader(r.sidecar.rawHeaders, 'transfer-encoding')).toBe('chunked');
    expect(rawHeader(r.sidecar.rawHeaders, 'content-length')).toBeUndefined();
    expect(r.sidecar.body.toString('utf8').trim().split('\n').length).toBeGreaterThanOrEqual(6);
    for (const id of created) expect(r.sidecar.body.toString('utf8')).toContain(id);
    // Pages are 2 orders with 15 ms between them: a proxy that buffered would deliver one piece.
    expect(r.sidecar.dataEvents).toBeGreaterThan(1);
    expectIdentical(r.legacy, r.sidecar);
  });
});

describe('commands through the sidecar', () => {
  it('each 2xx command answers as legacy does for an identical order, and appends exactly one event of its type', async () => {
    const a = await createVia('legacy', 'cust-cmd');
    const b = await createVia('sidecar', 'cust-cmd');
    const steps: { request: (id: string) => RawRequest; event: string; status: number }[] = [
      {
        request: (id) => ({ method: 'PATCH', path: `/orders/${id}`, headers: JSON_HEADERS, body: '{"customerId":"cust-cmd-2"}' }),
        event: 'OrderUpdated',
        status: 200,
      },
      {
        request: (id) => ({
          method: 'POST',
          path: `/orders/${id}/items`,
          headers: JSON_HEADERS,
          body: '{"sku":"SKU-2","quantity":1,"price":"0.10","cardNumber":"4111111111111111"}',
        }),
        event: 'OrderItemAdded',
        status: 201,
      },
      { request: (id) => ({ method: 'POST', path: `/orders/${id}/pay` }), event: 'OrderPaid', status: 200 },
      { request: (id) => ({ method: 'POST', path: `/orders/${id}/cancel` }), event: 'OrderCancelled', status: 200 },
    ];
    const types = ['OrderCreated'];
    for (const step of steps) {
      const before = await totalEvents();
      const ra = await direct(step.request(a.id));
      const rb = await via(step.request(b.id));
      expect(rb.status).toBe(step.status);
      expect(masked(rb, b.id)).toEqual(masked(ra, a.id));
      types.push(step.event);
      expect((await stream(b.id)).map((e) => e.type)).toEqual(types);
      expect(await totalEvents()).toBe(before + 1);
    }
    const events = await stream(b.id);
    // capture: request keeps the body minus the entity's redacted fields, plus the fields the
    // sample's spec takes from legacy's answer (responseData: the updatedAt legacy set).
    const stamp = expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
    expect(events[2]!.data).toEqual({ sku: 'SKU-2', quantity: 1, price: '0.10', updatedAt: stamp });
    expect(events[1]!.data).toEqual({ customerId: 'cust-cmd-2', updatedAt: stamp });
    expect(await metricValue(sidecar.metrics.registry, 'strangler_spool_writes_total')).toBe(0);
  });

  it('a validation 400 passes through unchanged and appends nothing', async () => {
    const { id } = await createVia('sidecar', 'cust-400');
    const before = await totalEvents();
    const cases: RawRequest[] = [
      { method: 'POST', path: '/orders', headers: JSON_HEADERS, body: '{"customerId":"","items":[]}' },
      { method: 'PATCH', path: `/orders/${id}`, headers: JSON_HEADERS, body: '{"status":"SHIPPED"}' },
      { method: 'POST', path: `/orders/${id}/items`, headers: JSON_HEADERS, body: '{"sku":"SKU-9","quantity":-1,"price":"1.00"}' },
    ];
    for (const c of cases) {
      const r = await both(c);
      expect(r.legacy.status).toBe(400);
      expect(json(r.sidecar).error).toBe('validation_failed');
      expectIdentical(r.legacy, r.sidecar);
    }
    expect(await totalEvents()).toBe(before);
    expect(await stream(id)).toHaveLength(1);
  });

  it("a malformed JSON body gets legacy's own 400 (malformed_json) and appends nothing", async () => {
    const { id } = await createVia('sidecar', 'cust-malformed');
    const before = await totalEvents();
    for (const path of ['/orders', `/orders/${id}/items`]) {
      const r = await both({ method: 'POST', path, headers: JSON_HEADERS, body: '{"customerId": "cust-x", "items": [' });
      expect(r.legacy.status).toBe(400);
      expect(json(r.sidecar).error).toBe('malformed_json');
      expectIdentical(r.legacy, r.sidecar);
    }
    expect(await totalEvents()).toBe(before);
    expect(await stream(id)).toHaveLength(1);
  });

  it("a command over legacy's own JSON limit (1 MB) but under the sidecar's gets legacy's own 413, and appends nothing", async () => {
    const before = await totalEvents();
    const body = JSON.stringify({ customerId: 'cust-big', items: [], pad: 'x'.repeat(2 * 1024 * 1024) });
    const r = await both({ method: 'POST', path: '/orders', headers: JSON_HEADERS, body });
    expect(r.legacy.status).toBe(413);
    expect(json(r.sidecar).error).toBe('payload_too_large');
    expectIdentical(r.legacy, r.sidecar);
    expect(await totalEvents()).toBe(before);
  });

  it('a 409 invalid transition passes through unchanged and appends nothing', async () => {
    const { id } = await createVia('sidecar', 'cust-409');
    expect((await via({ method: 'POST', path: `/orders/${id}/pay` })).status).toBe(200);
    const before = await totalEvents();
    const r = await both({ method: 'POST', path: `/orders/${id}/pay` });
    expect(r.legacy.status).toBe(409);
    expect(json(r.sidecar).error).toBe('invalid_transition');
    expectIdentical(r.legacy, r.sidecar);
    expect((await stream(id)).map((e) => e.type)).toEqual(['OrderCreated', 'OrderPaid']);
    expect(await totalEvents()).toBe(before);
  });

  it('DELETE /orders/:id: 204 identical to legacy; one OrderDeleted; a second DELETE is 404 and appends nothing', async () => {
    const a = await createVia('sidecar', 'cust-delete');
    const b = await createVia('sidecar', 'cust-delete');
    const ra = await direct({ method: 'DELETE', path: `/orders/${a.id}` });
    const rb = await via({ method: 'DELETE', path: `/orders/${b.id}` });
    expect(rb.status).toBe(204);
    expectIdentical(ra, rb);
    expect((await stream(b.id)).map((e) => e.type)).toEqual(['OrderCreated', 'OrderDeleted']);
    expect((await stream(a.id)).map((e) => e.type)).toEqual(['OrderCreated']);

    const again = await both({ method: 'DELETE', path: `/orders/${b.id}` });
    expect(again.sidecar.status).toBe(404);
    expectIdentical(again.legacy, again.sidecar);
    expect(await stream(b.id)).toHaveLength(2);
  });

  // Express, like many legacy frameworks, routes paths case-insensitively and treats
  // `//orders/x` as `/orders/x`: the route table must match such a request too, or legacy
  // applies the command and no event is recorded.
  it('POST /Orders/:id/pay (another letter case) is applied by legacy and appends OrderPaid', async () => {
    const { id } = await createVia('sidecar', 'cust-gap-case');
    expect((await via({ method: 'POST', path: `/Orders/${id}/pay` })).status).toBe(200);
    expect((await stream(id)).map((e) => e.type)).toEqual(['OrderCreated', 'OrderPaid']);
  });

  it('DELETE //orders/:id (a doubled slash) reaches legacy unchanged: its own 404 passes through, no event', async () => {
    const { id } = await createVia('sidecar', 'cust-gap-slash');
    const r = await both({ method: 'DELETE', path: `//orders/${id}` });
    expectIdentical(r.legacy, r.sidecar);
    expect(r.sidecar.status).toBe(404);
    expect((await stream(id)).map((e) => e.type)).toEqual(['OrderCreated']);
    // The passthrough forwards the path as sent too (http-proxy would collapse the '//').
    const g = await both({ method: 'GET', path: `//orders/${id}` });
    expectIdentical(g.legacy, g.sidecar);
  });

  it('a slow client (body in small pieces with pauses) gets the right answer, command and passthrough alike', async () => {
    const before = await totalEvents();
    const created = await via({
      method: 'POST',
      path: '/orders',
      headers: JSON_HEADERS,
      body: ORDER('cust-slow'),
      slow: { chunkBytes: 7, pauseMs: 15 },
    });
    expect(created.status).toBe(201);
    const id = String(json(created).id);
    expect((await stream(id)).map((e) => e.type)).toEqual(['OrderCreated']);
    expect(await totalEvents()).toBe(before + 1);

    const payload = randomBytes(64 * 1024);
    const uploaded = await via({ method: 'PUT', path: `/orders/${id}/attachment`, body: payload, slow: { chunkBytes: 4096, pauseMs: 5 } });
    expect(json(uploaded)).toEqual({ bytes: payload.length, sha256: createHash('sha256').update(payload).digest('hex') });
  });

  it('keep-alive: 200 sequential requests over one client connection all succeed', async () => {
    const { id } = await createVia('sidecar', 'cust-keepalive');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const answers: RawResponse[] = [];
      for (let n = 0; n < 200; n++) {
        answers.push(
          await via(
            n % 2 === 0
              ? { path: `/orders/${id}`, agent }
              : { method: 'PATCH', path: `/orders/${id}`, headers: JSON_HEADERS, body: `{"customerId":"cust-ka-${n}"}`, agent },
          ),
        );
      }
      expect(answers.map((r) => r.status)).toEqual(answers.map(() => 200));
      expect(answers.slice(1).every((r) => r.reusedSocket)).toBe(true);
      expect(await stream(id)).toHaveLength(1 + 100);
    } finally {
      agent.destroy();
    }
  });
});

describe('what legacy receives', () => {
  let echo: EchoUpstream;
  let echoSidecar: TestSidecar;

  beforeAll(async () => {
    echo = await startEchoUpstream();
    echoSidecar = await startTestSidecar({
      upstream: echo.url,
      store: sidecar.store,
      configure: (c) => {
        c.server.bodyLimitBytes = 64 * 1024;
        c.eventStore.appendTimeoutMs = 10_000;
      },
    });
  });
  afterAll(async () => {
    await echoSidecar?.stop();
    await echo?.close();
  });

  const sent = (n: number) => echo.requests[n]!;
  const cases = [
    { kind: 'passthrough', method: 'GET', path: '/anything/else?q=1' },
    { kind: 'command', method: 'POST', path: '/orders' },
  ] as const;

  for (const c of cases) {
    it(`${c.kind}: X-Forwarded-For/Proto/Host arrive, and an X-Request-Id is generated when absent`, async () => {
      const n = echo.requests.length;
      const r = await rawRequest(echoSidecar.publicUrl, {
        method: c.method,
        path: c.path,
        ...(c.method === 'POST' ? { headers: JSON_HEADERS, body: '{}' } : {}),
      });
      expect(r.status).toBe(200);
      const got = sent(n).headers;
      expect(sent(n).path).toBe(c.path);
      expect(got['x-forwarded-for']).toMatch(LOOPBACK);
      expect(got['x-forwarded-proto']).toBe('http');
      expect(got['x-forwarded-host']).toBe(new URL(echoSidecar.publicUrl).host);
      expect(got['x-request-id']).toMatch(UUID);
    });

    it(`${c.kind}: a client's X-Request-Id is propagated as sent, and a prior X-Forwarded-For is kept in front`, async () => {
      const n = echo.requests.length;
      const r = await rawRequest(echoSidecar.publicUrl, {
        method: c.method,
        path: c.path,
        headers: [['X-Request-Id', `req-${c.kind}-42`], ['X-Forwarded-For', '203.0.113.7'], ...(c.method === 'POST' ? JSON_HEADERS : [])],
        ...(c.method === 'POST' ? { body: '{}' } : {}),
      });
      expect(r.status).toBe(200);
      const got = sent(n).headers;
      expect(got['x-request-id']).toBe(`req-${c.kind}-42`);
      const hops = String(got['x-forwarded-for'])
        .split(',')
        .map((s) => s.trim());
      expect(hops[0]).toBe('203.0.113.7');
      expect(hops[1]).toMatch(LOOPBACK);
      expect(hops).toHaveLength(2);
    });
  }

  it('a command carries its request id into the event metadata', async () => {
    const r = await rawRequest(echoSidecar.publicUrl, {
      method: 'POST',
      path: '/orders',
      headers: [...JSON_HEADERS, ['X-Request-Id', 'req-meta-7'], ['X-User-Id', 'alice']],
      body: '{}',
    });
    const id = String(json(r).id);
    const events = await sidecar.store.readStream(`orders-${id}`);
    expect(events).toHaveLength(1);
    expect(events[0]!.metadata).toMatchObject({
      requestId: 'req-meta-7',
      correlationId: 'req-meta-7',
      actor: 'alice',
      route: 'POST /orders',
    });
  });

  it('413 for a command body over server.bodyLimitBytes (declared or chunked) without reaching legacy', async () => {
    const big = Buffer.alloc(100 * 1024, 'x');
    const n = echo.requests.length;
    const tooLarge = await metricValue(echoSidecar.metrics.registry, 'strangler_proxy_body_too_large_total');
    for (const slow of [undefined, { chunkBytes: 16 * 1024, pauseMs: 2 }]) {
      // slow: written piece by piece with no Content-Length, so node sends it chunked.
      const r = await rawRequest(echoSidecar.publicUrl, {
        method: 'POST',
        path: '/orders',
        headers: [...JSON_HEADERS, ['X-Request-Id', 'req-413']],
        body: big,
        ...(slow ? { slow } : {}),
      });
      expect(r.status).toBe(413);
      expect(r.headers['content-type']).toBe('application/problem+json');
      expect(json(r)).toMatchObject({ status: 413, title: 'body_too_large', requestId: 'req-413' });
    }
    expect(echo.requests.length).toBe(n);
    expect(await metricValue(echoSidecar.metrics.registry, 'strangler_proxy_body_too_large_total')).toBe(tooLarge + 2);

    // The limit is for buffered commands: a passthrough upload of the same size streams on.
    const upload = await rawRequest(echoSidecar.publicUrl, { method: 'PUT', path: '/orders/x/attachment', body: big });
    expect(upload.status).toBe(200);
    expect(json(upload).bytes).toBe(big.length);
    expect(echo.requests.length).toBe(n + 1);
  });
});

describe('upstream failures', () => {
  let odd: OddUpstream;
  let oddSidecar: TestSidecar;
  let deadSidecar: TestSidecar;

  beforeAll(async () => {
    // One misbehaving upstream; the path picks the misbehaviour, and no answer at all by default.
    const byPath: [string, Behaviour][] = [
      ['garbage', answerGarbage],
      ['hangup', hangUp],
      ['cut-chunked', truncatedBody('chunked')],
      ['cut-length', truncatedBody('content-length')],
    ];
    odd = await startOddUpstream((req, socket) => (byPath.find(([key]) => req.path.includes(key))?.[1] ?? neverAnswer)(req, socket));
    oddSidecar = await startTestSidecar({
      upstream: odd.url,
      store: sidecar.store,
      configure: (c) => {
        c.legacy.timeoutMs = 300;
      },
    });
    deadSidecar = await startTestSidecar({ upstream: `http://127.0.0.1:${await closedPort()}`, store: sidecar.store });
  });
  afterAll(async () => {
    await deadSidecar?.stop();
    await oddSidecar?.stop();
    await odd?.close();
  });

  const failures = [
    {
      what: 'the upstream port is closed (connect failure)',
      sidecar: () => deadSidecar,
      id: 'dead',
      status: 504,
      reason: 'connect_failed',
    },
    { what: 'the upstream never answers (timeout)', sidecar: () => oddSidecar, id: 'hang', status: 504, reason: 'timeout' },
    {
      what: 'the upstream answers garbage (malformed response)',
      sidecar: () => oddSidecar,
      id: 'garbage',
      status: 502,
      reason: 'bad_response',
    },
    {
      what: 'the upstream closes the connection without answering',
      sidecar: () => oddSidecar,
      id: 'hangup',
      status: 502,
      reason: 'connection_reset',
    },
  ] as const;

  for (const f of failures) {
    it(`${f.status} with problem+json and upstream_errors_total{reason="${f.reason}"} when ${f.what}, passthrough and command alike`, async () => {
      const s = f.sidecar();
      const metric = () => metricValue(s.metrics.registry, 'strangler_proxy_upstream_errors_total', { reason: f.reason });
      const before = await metric();
      const eventsBefore = await totalEvents();
      const requests: RawRequest[] = [
        { path: `/orders/${f.id}`, headers: [['X-Request-Id', `req-${f.id}-read`]] },
        { method: 'POST', path: `/orders/${f.id}/pay`, headers: [['X-Request-Id', `req-${f.id}-cmd`]] },
      ];
      for (const req of requests) {
        const r = await rawRequest(s.publicUrl, req);
        expect(r.status).toBe(f.status);
        expect(r.headers['content-type']).toBe('application/problem+json');
        const problem = json(r);
        expect(problem).toMatchObject({
          status: f.status,
          title: `upstream_${f.reason}`,
          requestId: (req.headers as [string, string][])[0]![1],
        });
        expect(String(problem.type)).toContain(f.reason);
        expect(typeof problem.detail).toBe('string');
      }
      expect(await metric()).toBe(before + 2);
      expect(await totalEvents()).toBe(eventsBefore);
    });
  }

  it('legacy dying mid-body after the head went out: the client connection is cut, never a clean end (passthrough)', async () => {
    for (const path of ['/orders/cut-chunked', '/orders/cut-length']) {
      // Without the cut the client would wait for the rest forever: the 5 s timeout turns that into a failure.
      const outcome = await rawRequest(oddSidecar.publicUrl, { path, timeoutMs: 5_000 }).then(
        (r) => `completed ${r.status} with ${JSON.stringify(r.body.toString())}`,
        (err: Error) => err.message,
      );
      expect(outcome, path).toMatch(/aborted|socket hang up|ECONNRESET/);
    }
  });

  it('legacy dying mid-body on a command: 502, since the sidecar buffers the answer before releasing it', async () => {
    for (const path of ['/orders/cut-chunked/pay', '/orders/cut-length/pay']) {
      const r = await rawRequest(oddSidecar.publicUrl, { method: 'POST', path });
      expect(r.status, path).toBe(502);
      expect(json(r)).toMatchObject({ title: 'upstream_connection_reset' });
    }
  });

  it('the upstream error counter is exported on the admin /metrics', async () => {
    expect((await rawRequest(deadSidecar.publicUrl, { path: '/health' })).status).toBe(504);
    const text = await (await fetch(`${deadSidecar.adminUrl}/metrics`)).text();
    expect(text).toMatch(/^strangler_proxy_upstream_errors_total\{reason="connect_failed"\} [1-9]/m);
  });
});
