/**
 * Upgrade requests (WebSocket) through the sidecar, on real sockets: the upstream is a small
 * RFC 6455 echo server (test/helpers/webSocket.ts). A tunnel carries text, binary and a 1 MB
 * message unchanged, closes from either side with both sockets, is counted in metrics, and
 * ends on shutdown after the drain period. Upgrades off, a command route, an upstream that
 * declines, fails or stays silent: an answer every time, never a hang.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgTestDb, type TestDb } from '../harness/db.ts';
import { metricValue } from '../helpers/metrics.ts';
import { closedPort } from '../helpers/oddUpstream.ts';
import { seededRandom } from '../helpers/seed.ts';
import { startTestSidecar } from '../helpers/sidecar.ts';
import { OP, headerOf, startWsEchoUpstream, wsConnect, type WsClient, type WsEchoUpstream } from '../helpers/webSocket.ts';

type TestSidecar = Awaited<ReturnType<typeof startTestSidecar>>;

let storeDb: TestDb;
let upstream: WsEchoUpstream;
let sidecar: TestSidecar;

beforeAll(async () => {
  storeDb = await createPgTestDb('upgrade_store');
  upstream = await startWsEchoUpstream();
  sidecar = await startTestSidecar({ upstream: upstream.url, eventStoreUrl: storeDb.url, configure: (c) => (c.legacy.timeoutMs = 500) });
});
afterAll(async () => {
  await sidecar?.stop();
  await upstream?.close();
  await storeDb?.drop();
});
/** Another sidecar on the same event store. */
const another = (opts: Omit<Parameters<typeof startTestSidecar>[0], 'store'>) => startTestSidecar({ ...opts, store: sidecar.store });

const upgradesTotal = (s: TestSidecar, outcome: string) => metricValue(s.metrics.registry, 'strangler_proxy_upgrades_total', { outcome });
const openTunnels = (s: TestSidecar) => metricValue(s.metrics.registry, 'strangler_proxy_upgrades_open');
const json = (b: Buffer) => JSON.parse(b.toString('utf8')) as Record<string, unknown>;

async function waitUntil(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function echo(ws: WsClient, opcode: number, payload: Buffer): Promise<void> {
  ws.send(opcode, payload);
  const back = await ws.next();
  expect(back.opcode).toBe(opcode);
  expect(back.payload.length).toBe(payload.length);
  expect(back.payload.equals(payload)).toBe(true);
}

describe('a WebSocket through the sidecar', () => {
  it('101 with the upstream header case and no hop-by-hop; text, binary and a 1 MB message echo unchanged; counted', async () => {
    const rand = seededRandom('websocket payloads');
    const tunnelled = await upgradesTotal(sidecar, 'tunnelled');
    const ws = await wsConnect(sidecar.publicUrl, '/live/feed?x=1', [['X-Client-Case', 'Yes']]);
    expect(ws.status).toBe(101);
    expect(headerOf(ws.rawHeaders, 'upgrade')).toBe('websocket');
    expect(ws.rawHeaders).toContain('X-Upstream-Case'); // the case legacy wrote
    expect(headerOf(ws.rawHeaders, 'keep-alive')).toBeUndefined(); // hop-by-hop: legacy's connection only
    expect(headerOf(ws.rawHeaders, 'sec-websocket-accept')).toBeDefined();

    const sent = upstream.upgrades.at(-1)!;
    expect(sent.path).toBe('/live/feed?x=1');
    expect(sent.rawHeaders).toContain('X-Client-Case');
    expect(headerOf(sent.rawHeaders, 'x-forwarded-for')).toMatch(/127\.0\.0\.1/);
    expect(headerOf(sent.rawHeaders, 'x-request-id')).toBeDefined();
    expect(await openTunnels(sidecar)).toBe(1);

    await echo(ws, OP.text, Buffer.from(`héllo ${rand.int(0, 1e9)}`));
    await echo(ws, OP.binary, Buffer.from(Array.from({ length: 300 }, () => rand.int(0, 256))));
    const big = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = rand.int(0, 256);
    await echo(ws, OP.binary, big);
    await echo(ws, OP.text, Buffer.from('x'.repeat(70_000)));

    // Close from the client: the close frame is answered, then both connections end.
    const upstreamSocket = upstream.sockets.at(-1)!;
    ws.send(OP.close, Buffer.from([0x03, 0xe8]));
    const closeFrame = await ws.next();
    expect(closeFrame.opcode).toBe(OP.close);
    expect(closeFrame.payload.readUInt16BE(0)).toBe(1000);
    await ws.closed;
    await waitUntil('the upstream socket to close', () => upstreamSocket.destroyed || upstreamSocket.closed);
    await waitUntil('the open-tunnel gauge back at 0', async () => (await openTunnels(sidecar)) === 0);
    expect(await upgradesTotal(sidecar, 'tunnelled')).toBe(tunnelled + 1);
  });

  it('closed by the upstream: the client gets the close frame and its connection ends', async () => {
    const ws = await wsConnect(sidecar.publicUrl, '/live');
    expect(ws.status).toBe(101);
    await echo(ws, OP.text, Buffer.from('before'));
    ws.send(OP.text, 'close-please');
    const f = await ws.next();
    expect(f.opcode).toBe(OP.close);
    await ws.closed;
    await waitUntil('the open-tunnel gauge back at 0', async () => (await openTunnels(sidecar)) === 0);
  });

  it('the client vanishing (reset) closes the upstream socket too', async () => {
    const ws = await wsConnect(sidecar.publicUrl, '/live');
    expect(ws.status).toBe(101);
    await echo(ws, OP.text, Buffer.from('ping'));
    const upstreamSocket = upstream.sockets.at(-1)!;
    ws.socket.resetAndDestroy();
    await waitUntil('the upstream socket to close', () => upstreamSocket.destroyed || upstreamSocket.closed);
    await waitUntil('the open-tunnel gauge back at 0', async () => (await openTunnels(sidecar)) === 0);
  });

  it('an upstream that declines: its answer (body de-chunked intact), then the connection ends', async () => {
    const declined = await upgradesTotal(sidecar, 'declined');
    const ws = await wsConnect(sidecar.publicUrl, '/declined');
    expect(ws.status).toBe(404);
    expect(headerOf(ws.rawHeaders, 'content-type')).toBe('text/plain');
    expect(headerOf(ws.rawHeaders, 'transfer-encoding')).toBeUndefined();
    expect((await ws.body()).toString()).toBe('no websocket. here.');
    expect(await upgradesTotal(sidecar, 'declined')).toBe(declined + 1);
  });

  it('an upstream that never answers: 504 problem+json after legacy.timeoutMs', async () => {
    const ws = await wsConnect(sidecar.publicUrl, '/silent', [['X-Request-Id', 'req-ws-silent']]);
    expect(ws.status).toBe(504);
    expect(headerOf(ws.rawHeaders, 'content-type')).toBe('application/problem+json');
    expect(json(await ws.body())).toMatchObject({ status: 504, title: 'upstream_timeout', requestId: 'req-ws-silent' });
  });

  it('an Upgrade on a command route is refused 501 and never reaches legacy', async () => {
    const n = upstream.upgrades.length;
    const ws = await wsConnect(sidecar.publicUrl, '/orders/ord_1/pay', [['X-Request-Id', 'req-ws-cmd']], { method: 'POST' });
    expect(ws.status).toBe(501);
    expect(json(await ws.body())).toMatchObject({ status: 501, title: 'upgrade_on_command_route', requestId: 'req-ws-cmd' });
    expect(upstream.upgrades.length).toBe(n);
    // The same path with GET is not a command route: tunnelled.
    const get = await wsConnect(sidecar.publicUrl, '/orders/ord_1/pay');
    expect(get.status).toBe(101);
    get.socket.destroy();
  });
});

describe('when the upgrade cannot be tunnelled', () => {
  it('legacy unreachable: 504 problem+json, counted as failed', async () => {
    const dead = await another({ upstream: `http://127.0.0.1:${await closedPort()}` });
    try {
      const ws = await wsConnect(dead.publicUrl, '/live');
      expect(ws.status).toBe(504);
      expect(json(await ws.body())).toMatchObject({ status: 504, title: 'upstream_connect_failed' });
      expect(await upgradesTotal(dead, 'failed')).toBe(1);
    } finally {
      await dead.stop();
    }
  });

  it('legacy.upgrades: false answers 501 problem+json and sends nothing to legacy', async () => {
    const off = await another({ upstream: upstream.url, configure: (c) => (c.legacy.upgrades = false) });
    try {
      const n = upstream.upgrades.length;
      const ws = await wsConnect(off.publicUrl, '/live', [['X-Request-Id', 'req-ws-off']]);
      expect(ws.status).toBe(501);
      expect(headerOf(ws.rawHeaders, 'content-type')).toBe('application/problem+json');
      expect(json(await ws.body())).toMatchObject({ status: 501, title: 'upgrades_disabled', requestId: 'req-ws-off' });
      expect(upstream.upgrades.length).toBe(n);
      expect(await upgradesTotal(off, 'refused')).toBe(1);
    } finally {
      await off.stop();
    }
  });

  it('on shutdown an open tunnel is ended once the drain period is over, and stop() completes', async () => {
    const s = await another({ upstream: upstream.url, drainMs: 300 });
    const ws = await wsConnect(s.publicUrl, '/live');
    expect(ws.status).toBe(101);
    await echo(ws, OP.text, Buffer.from('still here'));
    const upstreamSocket = upstream.sockets.at(-1)!;
    await s.stop();
    await ws.closed;
    await waitUntil('the upstream socket to close', () => upstreamSocket.destroyed || upstreamSocket.closed);
  });
});
