import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, startLegacyOrders, type RunningLegacyOrders } from '../../examples/legacy-orders/index.ts';
import { createOrdersProjection, orderUpcasters } from '../../examples/legacy-orders/projections/orders/index.ts';
import { changeCanary } from '../../src/canary/stateStore.ts';
import { bucketOf } from '../../src/canary/stickyRouter.ts';
import { loadConfig } from '../../src/config/index.ts';
import { Secret } from '../../src/config/secret.ts';
import type { Executor } from '../../src/db/executor.ts';
import { createPgExecutor } from '../../src/db/pgExecutor.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import type { ProjectionModule } from '../../src/projections/types.ts';
import { createUpcasterRegistry } from '../../src/projections/upcast.ts';
import type { ReadHandler, ReadHandlers } from '../../src/reads/types.ts';
import { startSidecar, type Sidecar } from '../../src/sidecar.ts';
import { sleep, until } from '../e2e/fixtures/wait.ts';
import { createPgTestDb, type TestDb } from '../harness/db.ts';
import { startPostgres, type PgServer } from '../harness/servers.ts';
import { metricValue } from '../helpers/metrics.ts';
import { seededRandom } from '../helpers/seed.ts';

// Reads through running sidecars in front of the sample service (legacy on PostgreSQL), with
// the event store and read model on a PostgreSQL server of their own (so it can be stopped):
// sticky routing at each step on two sidecars, read-your-writes with a slowed projection,
// list lag, and the read-model database going away mid-run.

const READS = ['GET /orders/:id', 'GET /orders'];
const OPERATOR = 'reads-operator-token';

// Hand-written handlers over the orders projection's tables (the real ones: src/reads/).
const itemHandler: ReadHandler = {
  route: 'GET /orders/:id',
  async handle(req, ctx) {
    const id = req.params['id']!;
    const { rows } = await ctx.db.query<{ id: string; customer_id: string; status: string }>(
      'SELECT id, customer_id, status FROM orders WHERE id = $1',
      [id],
    );
    const order = rows[0];
    if (!order) return { status: 404, body: { error: 'not_found', message: `Order ${id} not found` } };
    const items = await ctx.db.query<{ sku: string }>('SELECT sku FROM order_items WHERE order_id = $1 ORDER BY sku', [id]);
    return { status: 200, body: { id, customerId: order.customer_id, status: order.status, items: items.rows } };
  },
};
const listHandler: ReadHandler = {
  route: 'GET /orders',
  async handle(req, ctx) {
    const { rows } = await ctx.db.query<{ id: string }>('SELECT id FROM orders WHERE customer_id = $1 ORDER BY created_at, id', [
      req.query.get('customerId') ?? '',
    ]);
    return { status: 200, body: rows };
  },
};
const handlers: ReadHandlers = new Map([
  [
    'orders',
    new Map([
      [itemHandler.route, itemHandler],
      [listHandler.route, listHandler],
    ]),
  ],
]);

// The sample's projection, slowed on demand: each batch waits `projectionDelayMs` first.
let projectionDelayMs = 0;
const ordersModule = createOrdersProjection({ stream: 'orders-{id}' });
const slowed: ProjectionModule = {
  ...ordersModule,
  apply: async (tx, events, t) => {
    if (projectionDelayMs > 0) await sleep(projectionDelayMs);
    return ordersModule.apply(tx, events, t);
  },
};
const projection = { entity: 'orders', module: slowed, upcasters: createUpcasterRegistry(orderUpcasters) };

let storeServer: PgServer;
let legacyDb: TestDb;
let legacyExec: Executor;
let service: RunningLegacyOrders;
const sidecars: Sidecar[] = [];
const spools: string[] = [];

async function startReadSidecar(): Promise<Sidecar> {
  const config = loadConfig({
    file: 'examples/legacy-orders/strangler.yaml',
    env: { STRANGLER_LEGACY_UPSTREAM: service.url, STRANGLER_EVENTSTORE_URL: storeServer.url },
  });
  config.server.host = config.admin.host = '127.0.0.1';
  config.server.port = config.admin.port = 0;
  config.eventStore.migrateOnStart = true;
  // A write spooled by one replica (the store slower than this) is not in the store yet, so
  // another replica cannot see it (docs/internals.md, "Reads"); on a loaded test machine the
  // default 250 ms would spool some writes, and this file is about the projection's lag.
  config.eventStore.appendTimeoutMs = 10_000;
  // Likewise a read-model answer slower than the default 250 ms would fall back to legacy and
  // blur the routing checked here (the timeout itself: canary-read-path.test.ts).
  config.canary.readTimeoutMs = 10_000;
  // This file slows and stops the projection on purpose; the guard would rightly roll the
  // canary back (its reactions are guard-e2e's subject): here it only evaluates.
  config.rollback.dryRun = true;
  config.eventStore.spool.path = await fsp.mkdtemp(path.join(os.tmpdir(), 'strangler-reads-spool-'));
  spools.push(config.eventStore.spool.path);
  config.canary.sourceHeader = true;
  config.admin.resolvedTokens = [{ name: 'ops', role: 'operator', secret: new Secret(OPERATOR) }];
  config.entities['orders']!.reads = READS.map((route) => ({ route, handler: 'by-hand.ts', ignore: [] }));
  const sidecar = await startSidecar({
    config,
    logger: silentLogger(),
    spoolFsync: false,
    drainIntervalMs: 20,
    schedule: false,
    closeStepTimeoutMs: 5000,
    projections: [projection],
    readHandlers: handlers,
  });
  sidecars.push(sidecar);
  return sidecar;
}

beforeAll(async () => {
  [storeServer, legacyDb] = await Promise.all([startPostgres(), createPgTestDb('reads_legacy')]);
  legacyExec = createPgExecutor({ url: legacyDb.url });
  await migrate(legacyExec);
  service = await startLegacyOrders({ db: legacyExec });
});

afterAll(async () => {
  for (const s of sidecars) await s.stop();
  await service?.close();
  await legacyExec?.close();
  await legacyDb?.drop();
  await storeServer?.destroy();
  for (const dir of spools) await fsp.rm(dir, { recursive: true, force: true });
});

async function setCanary(a: Sidecar, all: Sidecar[], change: { stage?: 'complete' | 'canary' | 'shadow'; percent?: number }) {
  const after = await changeCanary(a.store.db, {
    entity: 'orders',
    change: { action: 'set', ...change },
    actor: 'test',
    source: 'api',
    reason: 'test',
    steps: [10, 25, 50, 100],
    readiness: { reads: READS, handled: READS },
  }).then(
    (r) => r.after,
    (err: Error) => {
      // Already there (a test run on its own after another): wait for it as for a change.
      if (!/is already at/.test(err.message) || change.stage === undefined) throw err;
      return { stage: change.stage, percent: change.stage === 'complete' ? 100 : (change.percent ?? 0) };
    },
  );
  for (const s of all)
    await until(
      async () =>
        (await metricValue(s.metrics.registry, 'strangler_canary_stage', { entity: 'orders', stage: after.stage })) === 1 &&
        (await metricValue(s.metrics.registry, 'strangler_canary_percent', { entity: 'orders' })) === after.percent,
      `sidecar at ${after.stage} ${after.percent}`,
      10_000,
    );
}

async function get(s: Sidecar, url: string, headers: Record<string, string> = {}) {
  const res = await fetch(s.publicUrl + url, { headers });
  const text = await res.text();
  return {
    status: res.status,
    source: res.headers.get('x-strangler-source'),
    error: res.headers.get('x-strangler-error'),
    body: JSON.parse(text) as Record<string, unknown>,
  };
}

async function post(s: Sidecar, url: string, body: unknown) {
  const res = await fetch(s.publicUrl + url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (res.status >= 300) throw new Error(`${url}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** Runs `fn` over `items` with at most `n` at once. */
async function pool<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

const reads = (s: Sidecar, labels: Record<string, string>) =>
  metricValue(s.metrics.registry, 'strangler_reads_total', { entity: 'orders', ...labels });

describe('canary reads through running sidecars (event store and read model on PostgreSQL)', () => {
  let a: Sidecar;
  let b: Sidecar;
  let orderIds: string[];
  const rand = seededRandom('canary reads');

  beforeAll(async () => {
    a = await startReadSidecar();
    b = await startReadSidecar();
    orderIds = [];
    for (let i = 0; i < 20; i++) {
      const created = await post(i % 2 ? a : b, '/orders', {
        customerId: `cust-${i % 4}`,
        items: [{ sku: 'SKU-0', quantity: 1 + rand.int(0, 5), price: '9.99' }],
      });
      orderIds.push(created['id'] as string);
    }
  });

  it('dual_write: reads go straight to legacy; no read is counted and no source header is added', async () => {
    const r = await get(a, `/orders/${orderIds[0]}`, { 'x-user-id': 'u' });
    expect(r).toMatchObject({ status: 200, source: null, body: { id: orderIds[0] } });
    expect(await reads(a, { source: 'legacy', outcome: 'routed' })).toBe(0);
  });

  it('the stages accept the entity: every read route has a handler (promote to shadow through the admin API)', async () => {
    const res = await fetch(`${a.adminUrl}/admin/canary/orders/promote`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'handlers for both read routes' }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ after: { stage: 'shadow' } });
    await setCanary(a, [a, b], { stage: 'shadow' });
    const r = await get(b, `/orders/${orderIds[0]}`, { 'x-user-id': 'u' });
    expect(r).toMatchObject({ status: 200, source: 'legacy', body: { id: orderIds[0] } });
    expect(await reads(b, { source: 'legacy', outcome: 'routed' })).toBe(1);
  });

  it('10/25/50/100 %: the keys whose bucket is below percent × 100 read the model, identically on both sidecars', async () => {
    await setCanary(a, [a, b], { stage: 'complete' });
    // Caught up: every order is read from the model at complete, on both.
    for (const s of [a, b])
      for (const id of orderIds)
        await until(async () => (await get(s, `/orders/${id}`)).source === 'read-model', `${id} from the model`, 30_000);
    const keys = Array.from({ length: 300 }, (_, i) => `user-${rand.int(0, 1e9)}-${i}`);
    for (const percent of [10, 25, 50, 100]) {
      await setCanary(a, [a, b], { percent });
      const seen: Record<string, string[]> = { a: [], b: [] };
      for (const [name, s] of [
        ['a', a],
        ['b', b],
      ] as const) {
        const sources = new Array<string>(keys.length);
        await pool([...keys.keys()], 16, async (i) => {
          const r = await get(s, `/orders/${orderIds[i % orderIds.length]}`, { 'x-user-id': keys[i]! });
          expect(r.status).toBe(200);
          sources[i] = r.source!;
        });
        seen[name] = sources;
      }
      const expected = keys.map((k) => (bucketOf('orders', k) < percent * 100 ? 'read-model' : 'legacy'));
      expect(seen['a']).toEqual(expected);
      expect(seen['b']).toEqual(expected);
      const share = expected.filter((s) => s === 'read-model').length / keys.length;
      console.log(`${percent} %: ${(share * 100).toFixed(1)} % of ${keys.length} keys read from the model, the same keys on both sidecars`);
    }
  });

  it('read-your-writes: 1,000 write-then-read pairs at 100 % with the projection slowed (200 ms a batch): no read misses its write', async () => {
    await setCanary(a, [a, b], { stage: 'complete' });
    projectionDelayMs = 200;
    const rywBefore =
      (await reads(a, { source: 'legacy', outcome: 'read_your_writes' })) +
      (await reads(b, { source: 'legacy', outcome: 'read_your_writes' }));
    let misses = 0;
    const bySource: Record<string, number> = {};
    // 50 orders, 20 pairs each in sequence; the write through one sidecar, the read through the other.
    const ids: string[] = [];
    for (let i = 0; i < 50; i++)
      ids.push((await post(a, '/orders', { customerId: 'ryw', items: [{ sku: 'SKU-0', quantity: 1, price: '1.00' }] }))['id'] as string);
    await pool(ids, 25, async (id) => {
      for (let j = 1; j <= 20; j++) {
        const [writer, reader] = j % 2 ? [a, b] : [b, a];
        const sku = `SKU-${j}`;
        await post(writer, `/orders/${id}/items`, { sku, quantity: 1, price: '2.50' });
        // Now and then the read comes later, when the projection may have caught up.
        if (rand() < 0.25) await sleep(rand.int(200, 800));
        const r = await get(reader, `/orders/${id}`);
        bySource[r.source!] = (bySource[r.source!] ?? 0) + 1;
        const skus = ((r.body['items'] as { sku: string }[] | undefined) ?? []).map((x) => x.sku);
        if (r.status !== 200 || !skus.includes(sku)) {
          misses++;
          console.log('miss', id, sku, r.source, r.status, JSON.stringify(r.body));
        }
      }
    });
    projectionDelayMs = 0;
    const ryw =
      (await reads(a, { source: 'legacy', outcome: 'read_your_writes' })) +
      (await reads(b, { source: 'legacy', outcome: 'read_your_writes' })) -
      rywBefore;
    const spooled =
      (await metricValue(a.metrics.registry, 'strangler_spool_writes_total')) +
      (await metricValue(b.metrics.registry, 'strangler_spool_writes_total'));
    console.log(`spooled writes: ${spooled}`);
    console.log(
      `read-your-writes: 1000 pairs, ${misses} reads missed their write; served by ${JSON.stringify(bySource)}; ${ryw} sent to legacy by read-your-writes`,
    );
    expect(misses).toBe(0);
    expect(ryw).toBeGreaterThan(0);
    expect((bySource['legacy'] ?? 0) + (bySource['read-model'] ?? 0)).toBe(1000);
    // Once caught up, the same orders are read from the model again.
    await until(async () => (await get(a, `/orders/${ids[0]}`)).source === 'read-model', 'caught up', 60_000, 100);
  });

  it('list reads go to legacy while the projection lags more than maxListLagMs, and to the model again once caught up', async () => {
    await until(async () => (await get(a, '/orders?customerId=cust-1')).source === 'read-model', 'list from the model', 30_000, 100);
    projectionDelayMs = 3000;
    await post(a, `/orders/${orderIds[1]}/items`, { sku: 'SKU-LAG', quantity: 1, price: '1.00' });
    const before = await reads(a, { source: 'legacy', outcome: 'list_lag' });
    await until(async () => (await get(a, '/orders?customerId=cust-1')).source === 'legacy', 'list to legacy while lagging', 30_000, 100);
    expect(await reads(a, { source: 'legacy', outcome: 'list_lag' })).toBeGreaterThan(before);
    projectionDelayMs = 0;
    await until(
      async () => (await get(a, '/orders?customerId=cust-1')).source === 'read-model',
      'list from the model after catching up',
      30_000,
      100,
    );
  });

  it('the read-model database stopped mid-run at 100 %: no client error, legacy answers', async () => {
    await setCanary(a, [a, b], { stage: 'complete' });
    for (const id of orderIds)
      await until(async () => (await get(a, `/orders/${id}`)).source === 'read-model', `${id} from the model`, 30_000);
    const results: { status: number; source: string; ok: boolean; afterStop: boolean; error?: string | null }[] = [];
    let stopped = false;
    let running = true;
    const readers = Array.from({ length: 8 }, async (_, w) => {
      for (let i = 0; running; i++) {
        const id = orderIds[(w * 7 + i) % orderIds.length]!;
        const afterStop = stopped;
        try {
          const r = i % 5 === 0 ? await get(a, '/orders?customerId=cust-2') : await get(a, `/orders/${id}`);
          results.push({
            status: r.status,
            source: r.source!,
            ok: Array.isArray(r.body) || r.body['id'] === id,
            afterStop,
            error: r.error,
          });
        } catch {
          results.push({ status: 0, source: 'none', ok: false, afterStop });
        }
      }
    });
    await until(() => results.length >= 200, 'reads before the stop', 30_000);
    await storeServer.stop();
    stopped = true;
    const at = results.length;
    await until(() => results.length >= at + 300, 'reads after the stop', 60_000);
    running = false;
    await Promise.all(readers);
    await storeServer.start();
    const bad = results.filter((r) => r.status !== 200 || !r.ok);
    const after = results.filter((r) => r.afterStop);
    console.log(
      `read model stopped mid-run: ${results.length} reads, ${bad.length} client errors; before the stop ${results.filter((r) => !r.afterStop && r.source === 'read-model').length} from the model; after it ${after.filter((r) => r.source === 'legacy').length} of ${after.length} from legacy`,
    );
    if (bad.length > 0) console.log('client errors:', JSON.stringify(bad.slice(0, 5)));
    expect(bad).toEqual([]);
    expect(after.every((r) => r.source === 'legacy')).toBe(true);
    expect(
      (await reads(a, { source: 'legacy', outcome: 'error' })) + (await reads(a, { source: 'legacy', outcome: 'timeout' })),
    ).toBeGreaterThan(0);
  });
});
