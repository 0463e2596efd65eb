import { afterEach, beforeEach, expect, it } from 'vitest';
import { createOrdersProjection, orderUpcasters } from '../../examples/legacy-orders/projections/orders/index.ts';
import { listAudit } from '../../src/canary/stateStore.ts';
import { bucketOf } from '../../src/canary/stickyRouter.ts';
import { main } from '../../src/cli/main.ts';
import type { Config } from '../../src/config/schema.ts';
import { Secret } from '../../src/config/secret.ts';
import { signBody } from '../../src/guard/webhook.ts';
import type { ProjectionModule } from '../../src/projections/types.ts';
import { createUpcasterRegistry } from '../../src/projections/upcast.ts';
import type { RunnableProjection } from '../../src/projections/runner/workers.ts';
import type { Sidecar } from '../../src/sidecar.ts';
import { sleep, until } from '../e2e/fixtures/wait.ts';
import { createPgTestDb, type TestDb } from '../harness/db.ts';
import { startReceiver, type Receiver } from '../helpers/guard.ts';
import { metricValue } from '../helpers/metrics.ts';
import { pool, postVia, readVia, startSampleOnPg, type SampleOnPg } from '../helpers/sampleOnPg.ts';
import { seededRandom } from '../helpers/seed.ts';
import { startTestSidecar } from '../helpers/sidecar.ts';

// The guard end to end through real reads: two sidecar replicas in front of the sample
// service (legacy on PostgreSQL), one PostgreSQL event store and read model, the sample's
// own read handlers (examples/legacy-orders/strangler.yaml: GET /orders/:id a module,
// GET /orders declarative), GET /orders/:id traffic with varied x-user-id on both replicas
// (X-Strangler-Source tells who answered), the guard at intervalMs 1000 and threshold 2
// (the reaction-time settings of issue 13), a real webhook receiver, and the operator's
// side through the admin API and the CLI. No timed assertion: reaction times are printed.
//
// read_latency is not the subject here: on a shared test machine the read model's p99 over
// legacy's can pass 1.5 by noise, so maxLatencyRatio is set out of reach (its own test:
// guard.test.ts).
const OPERATOR = 'op-token-guard-e2e';
const VIEWER = 'view-token-guard-e2e';
const SECRET = 'guard-e2e-hook-secret';
const PROJECTION = createOrdersProjection().name;
const INTERVAL_MS = 1000;
const THRESHOLD = 2;

let sample: SampleOnPg;
let storeDb: TestDb;
let receiver: Receiver;
const sidecars: Sidecar[] = [];

beforeEach(async () => {
  [sample, storeDb, receiver] = await Promise.all([startSampleOnPg('guarde2e_legacy'), createPgTestDb('guarde2e_store'), startReceiver()]);
}, 60_000);

afterEach(async () => {
  for (const s of sidecars.splice(0)) await s.stop();
  await receiver?.close();
  await sample?.close();
  await storeDb?.drop();
}, 60_000);

async function startReplicas(
  configure: (config: Config) => void = () => undefined,
  projections?: readonly (RunnableProjection & { entity: string })[],
): Promise<[Sidecar, Sidecar]> {
  for (let i = 0; i < 2; i++)
    sidecars.push(
      await startTestSidecar({
        upstream: sample.url,
        eventStoreUrl: storeDb.url,
        ...(projections ? { projections } : {}),
        configure: (config) => {
          config.eventStore.migrateOnStart = true;
          // A loaded machine must not spool writes nor time reads out: this file is about the guard.
          config.eventStore.appendTimeoutMs = 10_000;
          config.canary.readTimeoutMs = 10_000;
          config.canary.sourceHeader = true;
          config.admin.resolvedTokens = [
            { name: 'ops', role: 'operator', secret: new Secret(OPERATOR) },
            { name: 'watch', role: 'viewer', secret: new Secret(VIEWER) },
          ];
          Object.assign(config.rollback, { intervalMs: INTERVAL_MS, threshold: THRESHOLD, maxLatencyRatio: 1e6 });
          config.rollback.webhook = {
            url: receiver.url,
            secretEnv: 'GUARD_SECRET',
            timeoutMs: 2000,
            retries: 2,
            secret: new Secret(SECRET),
          };
          configure(config);
        },
      }),
    );
  return [sidecars[0]!, sidecars[1]!];
}

async function admin<T>(s: Sidecar, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(s.adminUrl + path, {
    method,
    headers: {
      authorization: `Bearer ${method === 'GET' ? VIEWER : OPERATOR}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

type GateView = { name: string; state: string; value: number | null; threshold: number; note?: string };
type GuardView = { entities: Record<string, { gates: GateView[] }> };
const gate = async (s: Sidecar, name: string) =>
  (await admin<GuardView>(s, 'GET', '/admin/guard')).entities['orders']!.gates.find((g) => g.name === name);

/** `n` orders created through the two replicas in turn; returns once the read model holds all of them. */
async function seedOrders([a, b]: [Sidecar, Sidecar], n: number, what: string): Promise<string[]> {
  const rand = seededRandom(what);
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const created = await postVia((i % 2 ? a : b).publicUrl, '/orders', {
      customerId: `cust-${i % 5}`,
      items: [{ sku: `SKU-${rand.int(0, 9)}`, quantity: rand.int(1, 5), price: `${rand.int(1, 99)}.${rand.int(10, 99)}` }],
    });
    ids.push(created['id'] as string);
  }
  await until(
    async () => (await a.store.db.query<{ n: string }>('SELECT count(*) AS n FROM orders')).rows[0]!.n === String(n),
    'the read model to hold every order',
    30_000,
    50,
  );
  return ids;
}

const followed = (s: Sidecar) => s.canary.current('orders');

/** Both replicas follow the canary at `percent` (an operator's change through the admin API of the first). */
async function setCanary(replicas: [Sidecar, Sidecar], percent: number): Promise<void> {
  await admin(replicas[0], 'PUT', '/admin/canary/orders', { stage: 'canary', percent, reason: `guard e2e: ${percent} %` });
  await until(
    () => replicas.every((s) => followed(s).stage === 'canary' && followed(s).percent === percent),
    `both replicas at ${percent} %`,
  );
}

/** Reads every key once on each replica (order ids in turn); the sources, by replica. */
async function readAll(replicas: readonly Sidecar[], keys: readonly string[], ids: readonly string[]): Promise<string[][]> {
  return Promise.all(
    replicas.map(async (s) => {
      const sources = new Array<string>(keys.length);
      await pool([...keys.keys()], 8, async (i) => {
        const r = await readVia(s.publicUrl, `/orders/${ids[i % ids.length]}`, { 'x-user-id': keys[i]! });
        expect(r.status).toBe(200);
        sources[i] = r.source ?? 'none';
      });
      return sources;
    }),
  );
}

/** Background GET /orders/:id traffic on every replica, random orders and keys, until stop(). */
function readTraffic(replicas: readonly Sidecar[], keys: readonly string[], ids: readonly string[], what: string) {
  const rand = seededRandom(what);
  let running = true;
  let reads = 0;
  const bad: string[] = [];
  const workers = replicas.flatMap((s) =>
    Array.from({ length: 3 }, async () => {
      while (running) {
        const id = ids[rand.int(0, ids.length - 1)]!;
        try {
          const r = await readVia(s.publicUrl, `/orders/${id}`, { 'x-user-id': keys[rand.int(0, keys.length - 1)]! });
          if (r.status !== 200 || r.body['id'] !== id) bad.push(`${id}: ${r.status} ${JSON.stringify(r.body)}`);
        } catch (err) {
          bad.push(`${id}: ${(err as Error).message}`);
        }
        reads++;
      }
    }),
  );
  return {
    count: () => reads,
    async stop() {
      running = false;
      await Promise.all(workers);
      return bad;
    },
  };
}

async function cli(s: Sidecar, ...args: string[]) {
  const out: string[] = [];
  const code = await main(args, {
    out: (l) => out.push(l),
    err: (l) => out.push(l),
    env: { STRANGLER_ADMIN_URL: s.adminUrl, STRANGLER_ADMIN_TOKEN: OPERATOR },
  });
  return { code, out: out.join('\n') };
}

it('a paused orders projection at 25 %: every read on both replicas goes to legacy, audited, one signed notification; `strangler canary resume` restores 25 % and the same keys read the model again', async () => {
  const replicas = await startReplicas();
  const [a, b] = replicas;
  const ids = await seedOrders(replicas, 30, 'guard e2e lag orders');
  const rand = seededRandom('guard e2e lag keys');
  const keys = Array.from({ length: 120 }, (_, i) => `user-${rand.int(0, 1e9)}-${i}`);
  const modelKeys = keys.filter((k) => bucketOf('orders', k) < 25 * 100);
  expect(modelKeys.length).toBeGreaterThan(10);

  await admin(a, 'POST', '/admin/canary/orders/promote', { reason: 'guard e2e: to shadow' });
  await setCanary(replicas, 25);
  // Before the breach: the keys below 25 % read the model on both replicas, the others legacy.
  const expected = keys.map((k) => (modelKeys.includes(k) ? 'read-model' : 'legacy'));
  await until(
    async () => (await readAll(replicas, keys, ids)).every((sources) => sources.every((src, i) => src === expected[i])),
    'the keys below 25 % to read the model on both replicas',
    30_000,
    100,
  );
  await until(async () => (await gate(b, 'projection_lag'))?.state === 'pass', 'projection_lag to pass', 30_000);
  const traffic = readTraffic(replicas, keys, ids, 'guard e2e lag traffic');
  await until(() => traffic.count() >= 200, 'read traffic on both replicas', 30_000);

  // The breach: the guard fails projection_lag for a paused projection at once (docs/guard.md),
  // so it is measured from the pause's answer. One more order makes the lag grow while paused.
  await admin(b, 'POST', `/admin/projections/${PROJECTION}/pause`, { reason: 'guard e2e: stop the read model' });
  const breach = Date.now();
  await postVia(a.publicUrl, '/orders', { customerId: 'cust-late', items: [{ sku: 'SKU-L', quantity: 1, price: '1.00' }] });
  let legacyAt: number | null = null;
  let stateAt: number | null = null;
  await until(
    async () => {
      if (legacyAt === null) {
        const sources = await readAll(replicas, modelKeys, ids);
        if (sources.every((s) => s.every((src) => src === 'legacy'))) legacyAt = Date.now();
      }
      if (stateAt === null && replicas.every((s) => followed(s).stage === 'shadow' && followed(s).percent === 0)) stateAt = Date.now();
      return legacyAt !== null && stateAt !== null;
    },
    'every read on both replicas from legacy, by the canary state',
    60_000,
    10,
  );
  const budget = THRESHOLD * INTERVAL_MS + 1000;
  console.log(
    `guard e2e, breach (projection paused) → every read of the ${modelKeys.length} read-model keys on both replicas from legacy: ${legacyAt! - breach} ms` +
      ` (the read path itself sends reads of a paused projection to legacy); → both replicas following the guard's rollback (shadow, 0 %): ${stateAt! - breach} ms` +
      ` (intervalMs ${INTERVAL_MS}, threshold ${THRESHOLD}; budget threshold × interval + 1 s = ${budget} ms)`,
  );
  // Legacy now answers those keys because the canary says so (outcome routed), not only because
  // the projection is paused (outcome read_your_writes): the rollback outlives the pause.
  const routed = (s: Sidecar) =>
    metricValue(s.metrics.registry, 'strangler_reads_total', {
      entity: 'orders',
      route: 'GET /orders/:id',
      source: 'legacy',
      outcome: 'routed',
    });
  const before = await Promise.all(replicas.map(routed));
  const sources = await readAll(replicas, modelKeys, ids);
  expect(sources.flat().every((s) => s === 'legacy')).toBe(true);
  await until(
    async () => (await Promise.all(replicas.map(routed))).every((n, i) => n >= before[i]! + modelKeys.length),
    'the reads to be counted as routed to legacy by the canary',
    10_000,
  );

  await until(
    async () => (await listAudit(a.store.db, { entity: 'orders', limit: 1 }))[0]?.action === 'pause',
    'the guard to hold the rollback',
  );
  const audit = await listAudit(a.store.db, { entity: 'orders', limit: 5 });
  const rollback = audit.find((e) => e.action === 'rollback')!;
  expect(rollback).toMatchObject({
    actor: 'guard',
    source: 'guard',
    reason: 'projection_lag',
    before: { stage: 'canary', percent: 25 },
    after: { stage: 'shadow', percent: 0 },
  });
  const lag = (rollback.gates as GateView[]).find((g) => g.name === 'projection_lag')!;
  expect(lag).toMatchObject({ state: 'fail', threshold: 5000 });
  expect(typeof lag.value).toBe('number');
  expect(lag.note).toMatch(/paused/);
  expect(audit[0]).toMatchObject({ action: 'pause', actor: 'guard', reason: 'projection_lag' });
  console.log(
    `audit: rollback ${JSON.stringify(rollback.before)} → ${JSON.stringify(rollback.after)}, projection_lag ${JSON.stringify(lag)}`,
  );

  await until(() => receiver.received.length >= 1, 'the webhook notification', 10_000);
  await sleep(3 * INTERVAL_MS); // more failing evaluations: still one notification
  expect(receiver.received).toHaveLength(1);
  const n = receiver.received[0]!;
  expect(n.signature).toBe(signBody(SECRET, n.body));
  expect(n.json).toMatchObject({
    entity: 'orders',
    action: 'rollback',
    reason: 'projection_lag',
    after: { stage: 'shadow', percent: 0, paused: true },
  });
  expect(await traffic.stop()).toEqual([]);

  // The projection resumes and catches up; the operator resumes the canary with the CLI.
  await admin(a, 'POST', `/admin/projections/${PROJECTION}/resume`, { reason: 'guard e2e: read model back' });
  await until(async () => (await gate(a, 'projection_lag'))?.state === 'pass', 'projection_lag to pass again', 30_000);
  const resumed = await cli(b, 'canary', 'resume', 'orders', '--reason', 'projection caught up');
  expect(resumed).toMatchObject({ code: 0 });
  await until(
    () => replicas.every((s) => followed(s).stage === 'canary' && followed(s).percent === 25 && !followed(s).paused),
    'the guard to restore 25 % on both replicas',
    30_000,
  );
  expect((await listAudit(a.store.db, { entity: 'orders', limit: 1 }))[0]).toMatchObject({
    actor: 'guard',
    after: { stage: 'canary', percent: 25 },
  });
  await until(
    async () => (await readAll(replicas, modelKeys, ids)).every((s) => s.every((src) => src === 'read-model')),
    'the same keys to read the model again on both replicas',
    30_000,
    100,
  );
  console.log(
    `after \`strangler canary resume orders\`: 25 % restored, the ${modelKeys.length} keys read the model again on both replicas`,
  );
}, 180_000);

it('read-model rows corrupted for 5 % of the orders at 10 % with shadow sampling: real comparisons roll the canary back with reason shadow_mismatch', async () => {
  const replicas = await startReplicas((config) => {
    config.canary.shadow.sampleRate = 1; // every legacy-served read is compared
    config.canary.shadow.timeoutMs = 10_000;
    config.rollback.minSamples = 40;
  });
  const [a] = replicas;
  const ids = await seedOrders(replicas, 60, 'guard e2e shadow orders');
  const corrupted = ids.filter((_, i) => i % 20 === 7); // 3 of 60
  const rand = seededRandom('guard e2e shadow keys');
  const keys = Array.from({ length: 200 }, (_, i) => `user-${rand.int(0, 1e9)}-${i}`);
  await admin(a, 'POST', '/admin/canary/orders/promote', { reason: 'guard e2e: to shadow' });
  await setCanary(replicas, 10);
  await until(async () => (await gate(a, 'projection_lag'))?.state === 'pass', 'projection_lag to pass', 30_000);

  // Straight into the read model, bypassing the projection: a wrong total for 5 % of the orders.
  await a.store.db.query('UPDATE orders SET total_amount = total_amount + 100 WHERE id = ANY($1)', [corrupted]);
  const traffic = readTraffic(replicas, keys, ids, 'guard e2e shadow traffic');
  const started = Date.now();
  await until(
    async () => (await listAudit(a.store.db, { entity: 'orders', limit: 5 })).some((e) => e.action === 'rollback'),
    'the guard to roll back',
    90_000,
    100,
  );
  const reads = traffic.count();
  expect(await traffic.stop()).toEqual([]);
  await until(() => replicas.every((s) => followed(s).stage === 'shadow' && followed(s).percent === 0), 'both replicas back on legacy');

  const rollback = (await listAudit(a.store.db, { entity: 'orders', limit: 5 })).find((e) => e.action === 'rollback')!;
  expect(rollback).toMatchObject({
    actor: 'guard',
    reason: 'shadow_mismatch',
    before: { stage: 'canary', percent: 10 },
    after: { stage: 'shadow', percent: 0 },
  });
  const shadowGate = (rollback.gates as GateView[]).find((g) => g.name === 'shadow_mismatch')!;
  expect(shadowGate.state).toBe('fail');
  expect(shadowGate.value!).toBeGreaterThan(0.01);
  expect((rollback.gates as GateView[]).filter((g) => g.state === 'fail').map((g) => g.name)).toEqual(['shadow_mismatch']);
  console.log(
    `shadow: rolled back after ${Date.now() - started} ms and ${reads} reads on two replicas; shadow_mismatch ${JSON.stringify(shadowGate)}`,
  );

  // The mismatches behind it, on each replica's GET /admin/shadow: only the corrupted orders, at $.totalAmount.
  type ShadowView = {
    entities: Record<
      string,
      { routes: Record<string, { mismatch: number; match: number }>; samples: { url: string; diffs: { path: string }[] }[] }
    >;
  };
  let mismatches = 0;
  const urls = new Set<string>();
  for (const s of replicas) {
    const view = (await admin<ShadowView>(s, 'GET', '/admin/shadow?entity=orders')).entities['orders']!;
    mismatches += view.routes['GET /orders/:id']!.mismatch;
    for (const sample of view.samples) {
      urls.add(sample.url);
      expect(sample.diffs.map((d) => d.path)).toEqual(['$.totalAmount']);
    }
  }
  expect(mismatches).toBeGreaterThan(0);
  expect(urls.size).toBeGreaterThan(0);
  for (const url of urls) expect(corrupted.map((id) => `/orders/${id}`)).toContain(url);

  await until(() => receiver.received.length >= 1, 'the webhook notification', 10_000);
  expect(receiver.received[0]!.json).toMatchObject({ action: 'rollback', reason: 'shadow_mismatch' });
  expect(receiver.received[0]!.signature).toBe(signBody(SECRET, receiver.received[0]!.body));
}, 180_000);

it('a running projection lagging past projectionLagMs at 25 %: reads stay on the read model until the guard rolls back, then every read on both replicas goes to legacy', async () => {
  // The sample's projection, slowed on demand (each batch waits first): it keeps running, so
  // the read path keeps serving the orders it has applied from the read model; only the guard
  // moves those reads. projectionLagMs is 2000 so that a batch wait of 3000 ms (under the
  // projection lease's 5 s) passes it for as long as writes keep coming.
  let delayMs = 0;
  const module = createOrdersProjection({ stream: 'orders-{id}' });
  const slowed: ProjectionModule = {
    ...module,
    apply: async (tx, events, t) => {
      if (delayMs > 0) await sleep(delayMs);
      return module.apply(tx, events, t);
    },
  };
  const lagMs = 2000;
  const replicas = await startReplicas(
    (config) => void (config.rollback.projectionLagMs = lagMs),
    [{ entity: 'orders', module: slowed, upcasters: createUpcasterRegistry(orderUpcasters) }],
  );
  const [a, b] = replicas;
  const ids = await seedOrders(replicas, 30, 'guard e2e slow orders');
  const rand = seededRandom('guard e2e slow keys');
  const keys = Array.from({ length: 120 }, (_, i) => `user-${rand.int(0, 1e9)}-${i}`);
  const modelKeys = keys.filter((k) => bucketOf('orders', k) < 25 * 100);
  await admin(a, 'POST', '/admin/canary/orders/promote', { reason: 'guard e2e: to shadow' });
  await setCanary(replicas, 25);
  await until(
    async () => (await readAll(replicas, modelKeys, ids)).every((s) => s.every((src) => src === 'read-model')),
    'the keys below 25 % to read the model on both replicas',
    30_000,
    100,
  );
  await until(async () => (await gate(b, 'projection_lag'))?.state === 'pass', 'projection_lag to pass', 30_000);

  // New orders (not among those read) while the projection crawls: the oldest unapplied event
  // is the first of them, so the breach is its recordedAt + projectionLagMs.
  delayMs = 3000;
  const first = (await postVia(a.publicUrl, '/orders', { customerId: 'cust-slow', items: [{ sku: 'SKU-S', quantity: 1, price: '1.00' }] }))[
    'id'
  ] as string;
  const breach = Date.parse((await a.store.readStream(`orders-${first}`))[0]!.recordedAt) + lagMs;
  let writing = true;
  const writer = (async () => {
    for (let i = 0; writing; i++) {
      await postVia((i % 2 ? a : b).publicUrl, '/orders', {
        customerId: 'cust-slow',
        items: [{ sku: 'SKU-S', quantity: 1, price: '1.00' }],
      });
      await sleep(50);
    }
  })();
  const rounds: { at: number; fromModel: number }[] = [];
  let stateAt: number | null = null;
  await until(
    async () => {
      const sources = await readAll(replicas, modelKeys, ids);
      rounds.push({ at: Date.now(), fromModel: sources.flat().filter((s) => s === 'read-model').length });
      if (stateAt === null && replicas.every((s) => followed(s).stage === 'shadow' && followed(s).percent === 0)) stateAt = Date.now();
      return rounds.at(-1)!.fromModel === 0;
    },
    'every read on both replicas from legacy',
    60_000,
    10,
  );
  const legacyAt = rounds.at(-1)!.at;
  const afterBreach = rounds.filter((r) => r.at > breach && r.at < legacyAt);
  const budget = THRESHOLD * INTERVAL_MS + 1000;
  console.log(
    `guard e2e, breach (oldest unapplied event's recordedAt + projectionLagMs ${lagMs}) → every read of the ${modelKeys.length} read-model keys on both replicas from legacy: ${legacyAt - breach} ms` +
      ` (both replicas following the rollback: ${stateAt === null ? 'before the last round' : `${stateAt - breach} ms`};` +
      ` intervalMs ${INTERVAL_MS}, threshold ${THRESHOLD}; budget threshold × interval + 1 s = ${budget} ms);` +
      ` rounds of reads between breach and rollback: ${afterBreach.length}, read-model answers in them: ${afterBreach.map((r) => r.fromModel).join(', ') || 'none'}`,
  );
  // The reads went to legacy because the guard rolled back, not because the read path gave up on the model.
  expect(rounds.some((r) => r.fromModel > 0)).toBe(true);
  await until(
    () => replicas.every((s) => followed(s).stage === 'shadow' && followed(s).percent === 0),
    'both replicas to follow the rollback',
  );
  const rollback = (await listAudit(a.store.db, { entity: 'orders', limit: 5 })).find((e) => e.action === 'rollback')!;
  expect(rollback).toMatchObject({
    actor: 'guard',
    reason: 'projection_lag',
    before: { percent: 25 },
    after: { stage: 'shadow', percent: 0 },
  });
  const lag = (rollback.gates as GateView[]).find((g) => g.name === 'projection_lag')!;
  expect(lag).toMatchObject({ state: 'fail', threshold: lagMs });
  expect(lag.value!).toBeGreaterThan(lagMs);
  expect(lag.note).toBeUndefined(); // measured lag, not a paused projection
  writing = false;
  await writer;
  delayMs = 0;
  await until(() => receiver.received.length >= 1, 'the webhook notification', 10_000);
  expect(receiver.received[0]!.json).toMatchObject({ action: 'rollback', reason: 'projection_lag' });
}, 180_000);
