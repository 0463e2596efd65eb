import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main, type CliIo } from '../../src/cli/main.ts';
import { Secret } from '../../src/config/secret.ts';
import { runDoctor } from '../../src/doctor/index.ts';
import { openEventStore, type EventStore } from '../../src/eventstore/index.ts';
import { readProjection } from '../../src/projections/runner/projectionRow.ts';
import type { Sidecar } from '../../src/sidecar.ts';
import { until } from '../e2e/fixtures/wait.ts';
import { createPgTestDb, type TestDb } from '../harness/db.ts';
import { startEchoUpstream, type EchoUpstream } from '../helpers/echoUpstream.ts';
import { metricValue } from '../helpers/metrics.ts';
import { startTestSidecar } from '../helpers/sidecar.ts';

// The operator surface of a running sidecar: GET /admin/status, /admin/projections and its
// pause/resume/skip/rebuild, against a real sidecar on a real PostgreSQL event store; then the
// CLI commands end to end against the same sidecar, as an operator would run them. Each test
// gets a sidecar and an event store of its own: none depends on what another paused, rebuilt,
// appended or stopped.
const OPERATOR = 'op-secret-token';
const VIEWER = 'view-secret-token';
let db: TestDb;
let store: EventStore;
let upstream: EchoUpstream;
let sidecar: Sidecar;

beforeEach(async () => {
  db = await createPgTestDb('adminops');
  store = await openEventStore({ url: db.url, migrate: true, poolSize: 6 });
  upstream = await startEchoUpstream();
  sidecar = await startTestSidecar({
    upstream: upstream.url,
    store,
    configure: (config) => {
      config.admin.resolvedTokens = [
        { name: 'ops', role: 'operator', secret: new Secret(OPERATOR) },
        { name: 'watch', role: 'viewer', secret: new Secret(VIEWER) },
      ];
    },
  });
  await until(async () => (await readProjection(store.db, 'orders')) !== null, 'the orders runner to register', 30_000);
}, 60_000);

afterEach(async () => {
  await sidecar?.stop();
  await upstream?.close();
  await store?.close();
  await db?.drop();
});

/** A finished run with a verdict this sidecar's reconciler may not know yet: passed on as is. */
async function recordInconclusiveRun(): Promise<void> {
  await store.db.query(
    `INSERT INTO strangler_reconcile_runs (entity, status, config_hash, encoding_version, finished_at, report)
     VALUES ('orders', 'finished', 'h', 1, now(), $1::jsonb)`,
    [JSON.stringify({ verdict: 'inconclusive', mismatchRate: 0.25 })],
  );
}

let seq = 0;
/** n well-formed OrderCreated events, each in a stream of its own. */
async function appendOrders(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const id = `ord_${(++seq).toString(16).padStart(16, '0')}`;
    const at = '2026-01-02T03:04:05.000Z';
    await store.append(`orders-${id}`, [
      {
        id: randomUUID(),
        type: 'OrderCreated',
        data: { id, customerId: 'c-1', status: 'CREATED', totalAmount: '1.00', items: [], createdAt: at, updatedAt: at },
      },
    ]);
  }
}

async function api(method: string, path: string, token: string | null, body?: string) {
  const res = await fetch(sidecar.adminUrl + path, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as Record<string, unknown> & { detail?: string } };
}

const position = async () => (await readProjection(store.db, 'orders'))!.checkpoint.position;

describe('admin API: status and projections', () => {
  it('GET /admin/status: upstream, event store, spool, projections and entities on one answer (viewer)', async () => {
    await appendOrders(3);
    await until(async () => (await position()) === (await store.headPosition()), 'orders to catch up');
    await recordInconclusiveRun();
    expect((await api('GET', '/admin/status', null)).status).toBe(401);
    const { status, body } = await api('GET', '/admin/status', VIEWER);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      ready: true,
      eventStore: { reachable: true, headPosition: 3, error: null },
      spool: { depth: 0 },
      projections: [{ name: 'orders', state: 'running', position: 3, lagEvents: 0 }],
      entities: [
        { name: 'orders', stage: 'dual_write', projection: 'orders', lastReconciliation: { verdict: 'inconclusive', mismatchRate: 0.25 } },
        { name: 'order_items', stage: 'dual_write', percent: 0, paused: false, projection: 'orders', lastReconciliation: null },
      ],
    });
  });

  it('pause stops the position while events arrive, on the row every replica reads; resume catches up', async () => {
    const paused = await api('POST', '/admin/projections/orders/pause', OPERATOR, '{"reason":"test"}');
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({
      state: 'paused',
      pause: { by: 'admin:ops', reason: 'test', at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) },
    });
    const at = await position();
    // The runner saw the pause (it publishes paused=1 only from its idle branch)...
    await until(
      async () => (await metricValue(sidecar.metrics.registry, 'strangler_projection_paused', { projection: 'orders' })) === 1,
      'the runner to idle on the pause',
    );
    await appendOrders(5);
    // ...and has measured the 5 new events while idle: it saw them and applied none.
    await until(
      async () => (await metricValue(sidecar.metrics.registry, 'strangler_projection_lag_events', { projection: 'orders' })) === 5,
      'the paused runner to see the new events',
    );
    expect(await position()).toBe(at);
    const shown = (await api('GET', '/admin/projections/orders', VIEWER)).body;
    expect(shown).toMatchObject({
      state: 'paused',
      status: 'paused',
      lagEvents: 5,
      pause: { by: 'admin:ops', reason: 'test' },
      failure: null,
    });
    expect((await api('POST', '/admin/projections/orders/pause', OPERATOR)).status).toBe(409); // already paused

    const resumed = await api('POST', '/admin/projections/orders/resume', OPERATOR, '');
    expect(resumed.status).toBe(200);
    await until(async () => (await position()) === (await store.headPosition()), 'orders to catch up after resume');
    expect((await api('GET', '/admin/projections/orders', VIEWER)).body).toMatchObject({ state: 'running', pause: null, lagEvents: 0 });
  });

  it('answers 401 without a token, 403 to a viewer changing, 404 for an unknown projection, 400 for bad input, 409 for a wrong state', async () => {
    expect((await api('GET', '/admin/projections', null)).status).toBe(401);
    expect((await api('POST', '/admin/projections/orders/pause', null)).status).toBe(401);
    const forbidden = await api('POST', '/admin/projections/orders/pause', VIEWER);
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.detail).toMatch(/operator/);
    const unknown = await api('POST', '/admin/projections/nope/pause', OPERATOR);
    expect(unknown.status).toBe(404);
    expect(unknown.body.detail).toMatch(/Unknown projection "nope"\. Known: orders/);
    expect((await api('GET', '/admin/projections/nope', VIEWER)).status).toBe(404);
    expect((await api('POST', '/admin/projections/orders/explode', OPERATOR)).status).toBe(404);
    const notJson = await api('POST', '/admin/projections/orders/pause', OPERATOR, '{reason');
    expect(notJson.status).toBe(400);
    expect(notJson.body.detail).toMatch(/not JSON/);
    const extra = await api('POST', '/admin/projections/orders/pause', OPERATOR, '{"why":"x"}');
    expect([extra.status, extra.body.detail]).toEqual([400, expect.stringMatching(/Unknown field\(s\) why/)]);
    expect((await api('POST', '/admin/projections/orders/pause', OPERATOR, '{"reason":5}')).status).toBe(400);
    expect((await api('POST', '/admin/projections/orders/pause', OPERATOR, '[]')).status).toBe(400);
    expect((await api('GET', '/admin/projections/orders/pause', OPERATOR)).status).toBe(405);
    const skip = await api('POST', '/admin/projections/orders/skip', OPERATOR);
    expect([skip.status, skip.body.detail]).toEqual([409, expect.stringMatching(/nothing to skip/)]);
    expect((await api('POST', '/admin/projections/orders/resume', OPERATOR)).status).toBe(409); // running: nothing to resume
    // Nothing above changed the projection.
    expect((await readProjection(store.db, 'orders'))!.status).toBe('running');
  });

  it('rebuild answers 202 and switches to new tables in the background; GET follows it', async () => {
    await appendOrders(6);
    await until(async () => (await position()) === (await store.headPosition()), 'orders to catch up');
    const started = await api('POST', '/admin/projections/orders/rebuild', OPERATOR, '{"reason":"new version"}');
    expect(started.status).toBe(202);
    await until(
      async () => ((await api('GET', '/admin/projections/orders', VIEWER)).body.lastRebuild as { state: string }).state !== 'running',
      'the rebuild to finish',
    );
    const after = (await api('GET', '/admin/projections/orders', VIEWER)).body;
    expect(after).toMatchObject({ state: 'running', rebuild: null, lastRebuild: { state: 'done', startedBy: 'admin:ops', error: null } });
    const { rows } = await store.db.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${(await readProjection(store.db, 'orders'))!.tables.orders}`,
    );
    expect(Number(rows[0]!.n)).toBe(6);
  });

  it('an operator pause outlives a rebuild (the swap ends only a failure pause); the doctor reports it as deliberate', async () => {
    expect((await api('POST', '/admin/projections/orders/pause', OPERATOR, '{"reason":"hold"}')).status).toBe(200);
    const report = await runDoctor(store.db);
    expect(report.findings).toContainEqual(
      expect.objectContaining({
        kind: 'projection_paused',
        severity: 'medium',
        message: expect.stringMatching(/orders is paused by admin:ops \(hold\)/),
      }),
    );
    expect((await api('POST', '/admin/projections/orders/rebuild', OPERATOR)).status).toBe(202);
    await until(
      async () => ((await api('GET', '/admin/projections/orders', VIEWER)).body.lastRebuild as { state: string }).state !== 'running',
      'the rebuild to finish',
    );
    expect((await api('GET', '/admin/projections/orders', VIEWER)).body).toMatchObject({
      state: 'paused',
      pause: { reason: 'hold' },
      lastRebuild: { state: 'done' },
    });
    expect((await api('POST', '/admin/projections/orders/resume', OPERATOR)).status).toBe(200);
    await until(async () => (await position()) === (await store.headPosition()), 'orders to catch up after resume');
  });

  it('the 404 for an unknown path lists the served endpoints, never the path asked for', async () => {
    const r = await api('GET', '/admin/reconciliations', VIEWER); // reconciliation is off: no legacy database here
    expect(r.status).toBe(404);
    expect(r.body.detail).toMatch(
      /This sidecar serves \/healthz, \/readyz, \/health\/event-store, \/metrics, \/admin\/status, \/admin\/projections, \/admin\/canary, \/admin\/audit, \/admin\/shadow, \/admin\/guard, \/, \/session\.$/,
    );
    expect(r.body.detail!.replace('No admin endpoint at /admin/reconciliations.', '')).not.toContain('/admin/reconciliations');
  });
});

describe('the CLI against the running sidecar', () => {
  async function cli(...args: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIo = {
      out: (l) => out.push(l),
      err: (l) => err.push(l),
      env: { STRANGLER_ADMIN_URL: sidecar.adminUrl, STRANGLER_ADMIN_TOKEN: OPERATOR },
    };
    const code = await main(args, io);
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  it('strangler status prints one screen; --json is the admin answer', async () => {
    await recordInconclusiveRun();
    const s = await cli('status');
    expect([s.code, s.err]).toEqual([0, '']);
    expect(s.out).toContain(`sidecar ${sidecar.adminUrl}: ready`);
    expect(s.out).toMatch(/event store {2}.*head position \d+, reachable/);
    expect(s.out).toMatch(/spool {8}depth 0/);
    expect(s.out).toMatch(/orders\s+running\s+\d+\s+\d+/);
    expect(s.out).toMatch(/orders\s+dual_write\s+orders\s+run \d+ inconclusive, mismatch 25 %/);
    expect(s.out).toMatch(/order_items\s+dual_write\s+orders\s+none yet/);
    const j = await cli('status', '--json');
    expect(JSON.parse(j.out)).toMatchObject({ ready: true, eventStore: { reachable: true } });
  });

  it('strangler projections pause orders / resume orders: the position stops while events arrive, then catches up', async () => {
    const paused = await cli('projections', 'pause', 'orders', '--reason', 'test');
    expect([paused.code, paused.err]).toEqual([0, '']);
    expect(paused.out).toMatch(/^projection orders: paused by admin:ops at position \d+ \(test\)/);
    const at = await position();
    await until(
      async () => (await metricValue(sidecar.metrics.registry, 'strangler_projection_paused', { projection: 'orders' })) === 1,
      'the runner to idle on the pause',
    );
    await appendOrders(4);
    await until(
      async () => (await metricValue(sidecar.metrics.registry, 'strangler_projection_lag_events', { projection: 'orders' })) === 4,
      'the paused runner to see the new events',
    );
    expect(await position()).toBe(at);
    const status = await cli('projections', 'status');
    expect(status.out).toMatch(/orders\s+paused\s+\d+\s+\d+\s+\d+\s+4\s/);
    expect(status.out).toMatch(/paused by admin:ops at .*: test/);

    const resumed = await cli('projections', 'resume', 'orders');
    expect([resumed.code, resumed.out]).toEqual([0, expect.stringMatching(/^projection orders: resumed at position \d+/)]);
    await until(async () => (await position()) === (await store.headPosition()), 'orders to catch up after resume');
  });

  it('exit codes: 2 for an unknown projection or a viewer changing, 1 for a wrong state or no sidecar', async () => {
    const unknown = await cli('projections', 'pause', 'nope');
    expect([unknown.code, unknown.err]).toEqual([2, expect.stringMatching(/404 Unknown projection "nope"/)]);
    const asViewer = await main(['projections', 'pause', 'orders', '--token', VIEWER], {
      out: () => {},
      err: () => {},
      env: { STRANGLER_ADMIN_URL: sidecar.adminUrl },
    });
    expect(asViewer).toBe(2);
    const wrongState = await cli('projections', 'skip', 'orders');
    expect([wrongState.code, wrongState.err]).toEqual([1, expect.stringMatching(/409 .*nothing to skip/)]);
    const nobody = await cli('status', '--admin', 'http://127.0.0.1:9');
    expect(nobody.code).toBe(1);
    expect(nobody.err.split('\n')).toEqual([expect.stringMatching(/^No sidecar admin API answers at http:\/\/127\.0\.0\.1:9 /)]);
  });

  it('offline with --url: pause and resume on the event store directly, same row, same effect', async () => {
    const paused = await cli('projections', 'pause', 'orders', '--url', db.url, '--reason', 'offline');
    expect([paused.code, paused.err]).toEqual([0, '']);
    expect((await readProjection(store.db, 'orders'))!.pause).toMatchObject({ reason: 'offline' });
    expect((await cli('projections', 'status')).out).toMatch(/orders\s+paused/); // the running sidecar sees it
    expect((await cli('projections', 'resume', 'orders', '--url', db.url)).code).toBe(0);
    expect((await readProjection(store.db, 'orders'))!.status).toBe('running');
  });
});

describe('a pause holds on every replica', () => {
  it('paused through one sidecar, the other takes the lease and does not apply either; resumed through it, it catches up', async () => {
    const other = await startTestSidecar({
      upstream: upstream.url,
      store,
      configure: (config) => {
        config.admin.resolvedTokens = [{ name: 'ops2', role: 'operator', secret: new Secret(OPERATOR) }];
      },
    });
    try {
      const gauge = (s: Sidecar, name: string) => metricValue(s.metrics.registry, name, { projection: 'orders' });
      expect((await api('POST', '/admin/projections/orders/pause', OPERATOR, '{"reason":"replicas"}')).status).toBe(200);
      const at = await position();
      await sidecar.stop(); // releases the lease: the other replica claims it and reads the pause from the row
      await until(async () => (await gauge(other, 'strangler_projection_leader')) === 1, 'the other replica to take the lease');
      await until(async () => (await gauge(other, 'strangler_projection_paused')) === 1, 'the other replica to idle on the pause');
      await appendOrders(3);
      await until(async () => (await gauge(other, 'strangler_projection_lag_events')) === 3, 'the other replica to see the new events');
      expect(await position()).toBe(at);
      const resumed = await fetch(`${other.adminUrl}/admin/projections/orders/resume`, {
        method: 'POST',
        headers: { authorization: `Bearer ${OPERATOR}` },
      });
      expect(resumed.status).toBe(200);
      await until(async () => (await position()) === (await store.headPosition()), 'the other replica to catch up');
    } finally {
      await other.stop();
    }
  });
});
