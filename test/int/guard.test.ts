import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createOrdersProjection } from '../../examples/legacy-orders/projections/orders/index.ts';
import { readCanaryStates, listAudit } from '../../src/canary/stateStore.ts';
import type { CanaryState } from '../../src/canary/stages.ts';
import type { Config } from '../../src/config/schema.ts';
import { Secret } from '../../src/config/secret.ts';
import { createMysqlExecutor } from '../../src/db/mysqlExecutor.ts';
import { openEventStore, type EventStore } from '../../src/eventstore/index.ts';
import { createGuard, type Guard } from '../../src/guard/guard.ts';
import { createWebhook, signBody } from '../../src/guard/webhook.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { createMetrics } from '../../src/metrics/metrics.ts';
import { createReconciler } from '../../src/reconcile/reconciler.ts';
import { until } from '../e2e/fixtures/wait.ts';
import { createMysqlTestDb, createPgTestDb, type TestDb } from '../harness/db.ts';
import { guardConfig, operator, READY, startReceiver, type Receiver } from '../helpers/guard.ts';
import { metricValue } from '../helpers/metrics.ts';
import { finished, projectOrders } from '../helpers/reconcile.ts';
import { seededRandom } from '../helpers/seed.ts';

// The guard on a real PostgreSQL event store and a MariaDB legacy database: its gates fed by
// a real projection row, real reconciliation reports (drift written straight to legacy) and
// the ReadStats the read path calls. Evaluations are driven by tick() (the interval is an
// hour, so the timer never fires): each tick is one evaluation, so "threshold in a row" is
// exact. The timer-driven reaction and the leader's death are in guard-replicas.test.ts.
const ROOT = path.resolve(import.meta.dirname, '../..');
const ROWS = 100;
const SECRET = 'hook-secret-for-tests';
const id = (n: number) => `ord_${n.toString(16).padStart(16, '0')}`;
const module = createOrdersProjection();

let legacyDb: TestDb;
let storeDb: TestDb;
let legacy: ReturnType<typeof createMysqlExecutor>;
let store: EventStore;
let receiver: Receiver;
const cleanups: (() => Promise<unknown>)[] = [];

beforeEach(async () => {
  legacyDb = await createMysqlTestDb('guard');
  storeDb = await createPgTestDb('guard');
  legacy = createMysqlExecutor({ url: legacyDb.url, max: 2 });
  store = await openEventStore({ url: storeDb.url, migrate: true, poolSize: 4 });
  await legacy.exec(readFileSync(path.join(ROOT, 'examples/legacy-orders/schema/mysql.sql'), 'utf8'));
  await store.db.exec(module.ddl({ orders: 'orders', order_items: 'order_items', order_tombstones: 'order_tombstones' }));
  const rows = Array.from({ length: ROWS }, (_, i) => [
    id(i + 1),
    `cust-${i % 7}`,
    'CREATED',
    `${i}.50`,
    '2026-01-02 03:04:05.123456',
    '2026-01-02 03:04:05.123456',
  ]);
  await legacy.query('INSERT INTO orders (id, customer_id, status, total_amount, created_at, updated_at) VALUES ?', [rows]);
  await store.db.query(
    `INSERT INTO orders SELECT r.id, r.c, r.s, r.t::numeric, r.ca::timestamp, r.ua::timestamp, 0
       FROM json_to_recordset($1::json) AS r(id text, c text, s text, t text, ca text, ua text)`,
    [JSON.stringify(rows.map(([i, c, s, t, ca, ua]) => ({ id: i, c, s, t, ca, ua })))],
  );
  await projectOrders(store, module); // the projection row, caught up
  receiver = await startReceiver();
}, 60_000);

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await receiver?.close();
  await legacy?.close();
  await store?.close();
  await legacyDb?.drop();
  await storeDb?.drop();
});

function configWith(rollback: Record<string, unknown>, entity: Record<string, unknown> = {}): Config {
  const config = guardConfig({
    reconciliation: { graceMs: 0 },
    rollback: {
      intervalMs: 3_600_000,
      threshold: 3,
      minSamples: 20,
      webhook: { url: receiver.url, secretEnv: 'HOOK_SECRET', retries: 0 },
      ...rollback,
    },
    entities: {
      orders: {
        projection: path.join(ROOT, 'examples/legacy-orders/projections/orders.ts'),
        reconcile: { columns: ['id', 'customer_id', 'status', 'total_amount', 'created_at'] },
        ...entity,
      },
    },
  });
  config.rollback.webhook.secret = new Secret(SECRET);
  return config;
}

function guard(config: Config, opts: { spool?: () => number; stableMs?: number } = {}) {
  const metrics = createMetrics(new Registry());
  const g = createGuard({
    store,
    config,
    logger: silentLogger(),
    metrics,
    webhook: createWebhook({ ...config.rollback.webhook, logger: silentLogger(), backoffMs: 10 }),
    readiness: () => READY,
    projectionOf: () => module.name,
    spoolDepth: opts.spool ?? (() => 0),
    maxReportAgeMs: 3_600_000,
    ...(opts.stableMs !== undefined ? { stableMs: opts.stableMs } : {}),
  });
  cleanups.push(() => g.stop());
  return { guard: g, metrics };
}

const state = async (): Promise<CanaryState> => (await readCanaryStates(store.db)).get('orders')!;
const reconcile = async (config: Config) =>
  finished(
    await createReconciler({ config, legacy, store: store.db, projections: [{ entity: 'orders', module }], logger: silentLogger() }).run({
      entity: 'orders',
      trigger: 'test',
    }),
  );

/** Reads as the read path reports them: `rm` served by the read model, `legacy` by legacy, and shadow results. */
function feed(g: Guard, n: { rm?: number; rmErrors?: number; legacy?: number; match?: number; mismatch?: number }) {
  const route = 'GET /orders/:id';
  for (let i = 0; i < (n.rm ?? 0); i++)
    g.stats.read({ entity: 'orders', route, source: 'read-model', outcome: 'served', seconds: 0.002, readModelSeconds: 0.002 });
  for (let i = 0; i < (n.rmErrors ?? 0); i++)
    g.stats.read({ entity: 'orders', route, source: 'legacy', outcome: 'error', seconds: 0.004, readModelSeconds: 0.001 });
  for (let i = 0; i < (n.legacy ?? 0); i++) g.stats.read({ entity: 'orders', route, source: 'legacy', outcome: 'routed', seconds: 0.003 });
  for (let i = 0; i < (n.match ?? 0); i++) g.stats.shadow('orders', route, 'match');
  for (let i = 0; i < (n.mismatch ?? 0); i++) g.stats.shadow('orders', route, 'mismatch');
}

async function ticks(g: Guard, n: number) {
  for (let i = 0; i < n; i++) await g.tick();
}

const gate = async (g: Guard, name: string) => (await g.status()).orders!.gates.find((x) => x.name === name)!;

describe('the guard', () => {
  it('rolls back on a reconciliation over the mismatch rate (writes straight to legacy for 2 % of the orders), audited with the gate values', async () => {
    const config = configWith({});
    await operator(store.db, { action: 'set', percent: 25 });
    const clean = await reconcile(config);
    expect(clean.mismatchRate).toBe(0);
    const { guard: g, metrics } = guard(config);
    await ticks(g, 3);
    expect(await state()).toMatchObject({ stage: 'canary', percent: 25 });
    expect((await gate(g, 'state_mismatch')).state).toBe('pass');

    const rnd = seededRandom('guard-state-mismatch');
    const drifted = new Set<number>();
    while (drifted.size < ROWS * 0.02) drifted.add(rnd.int(1, ROWS + 1));
    for (const n of drifted) await legacy.query(`UPDATE orders SET status = 'PAID' WHERE id = ?`, [id(n)]);
    const report = await reconcile(config);
    expect(report.mismatchRate).toBeCloseTo(0.02, 5);

    await ticks(g, 2);
    expect(await state()).toMatchObject({ stage: 'canary', percent: 25 }); // 2 failures < threshold 3
    await g.tick();
    expect(await state()).toMatchObject({ stage: 'shadow', percent: 0, paused: true });
    const [pause, rollback] = await listAudit(store.db, { entity: 'orders', limit: 2 });
    expect(rollback).toMatchObject({ actor: 'guard', source: 'guard', action: 'rollback', reason: 'state_mismatch' });
    expect(pause).toMatchObject({ actor: 'guard', source: 'guard', action: 'pause', reason: 'state_mismatch' });
    expect(rollback!.gates).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'state_mismatch', value: 0.02, threshold: 0.01, state: 'fail' })]),
    );
    expect(
      await metricValue(metrics.registry, 'strangler_guard_actions_total', {
        entity: 'orders',
        action: 'rollback',
        reason: 'state_mismatch',
      }),
    ).toBe(1);
    expect(
      await metricValue(metrics.registry, 'strangler_guard_gate_state', { entity: 'orders', gate: 'state_mismatch', state: 'fail' }),
    ).toBe(1);
    const status = (await g.status()).orders!;
    expect(status).toMatchObject({ policy: 'rollback', dryRun: false, lastAction: { action: 'rollback', reason: 'state_mismatch' } });
  }, 60_000);

  it('measures projection_lag as the age of the oldest unapplied event while the projection runs behind (not paused)', async () => {
    const config = configWith({ projectionLagMs: 400, threshold: 1 });
    await operator(store.db, { action: 'set', percent: 25 });
    const { guard: g } = guard(config);
    await g.tick();
    expect(await gate(g, 'projection_lag')).toMatchObject({ state: 'pass', value: 0 });
    // No runner applies it: the event ages.
    await store.append(`orders-${id(1)}`, [{ type: 'OrderUpdated', data: { status: 'PAID' } }]);
    await until(
      async () => {
        await g.tick();
        return (await state()).stage === 'shadow';
      },
      'the lag to pass 400 ms and the guard to roll back',
      10_000,
      100,
    );
    const [, rollback] = await listAudit(store.db, { entity: 'orders', limit: 2 });
    const lag = (rollback!.gates as { name: string; value: number; state: string }[]).find((x) => x.name === 'projection_lag')!;
    expect(lag.state).toBe('fail');
    expect(lag.value).toBeGreaterThan(400);
  }, 60_000);

  it('rolls back on shadow mismatches over the window at 10 %, naming the shadow source', async () => {
    const config = configWith({});
    await operator(store.db, { action: 'set', percent: 10 });
    const { guard: g } = guard(config);
    // 5 % of the compared reads differ (read-model rows corrupted for 5 % of keys).
    for (let i = 0; i < 3; i++) {
      feed(g, { match: 95, mismatch: 5 });
      await g.tick();
    }
    expect(await state()).toMatchObject({ stage: 'shadow', percent: 0, paused: true });
    const [, rollback] = await listAudit(store.db, { entity: 'orders', limit: 2 });
    expect(rollback).toMatchObject({ action: 'rollback', reason: 'shadow_mismatch', actor: 'guard' });
    await until(() => receiver.received.length === 1, 'the webhook notification', 10_000);
    const n = receiver.received[0]!;
    expect(n.json).toMatchObject({ entity: 'orders', action: 'rollback', reason: 'shadow_mismatch', dryRun: false });
    expect(n.signature).toBe(signBody(SECRET, n.body));
  }, 60_000);

  it('too few samples: inconclusive, neither rolls back nor promotes', async () => {
    const config = configWith({ promotion: { enabled: true } });
    await reconcile(config); // a clean report: only the few samples stand between this and a promotion
    await operator(store.db, { action: 'set', percent: 10 });
    const { guard: g } = guard(config, { stableMs: 0 });
    for (let i = 0; i < 5; i++) {
      feed(g, { rm: 2, legacy: 2, mismatch: 2 });
      await g.tick();
    }
    expect(await gate(g, 'shadow_mismatch')).toMatchObject({ state: 'inconclusive', value: 1 });
    expect((await gate(g, 'read_errors')).state).toBe('inconclusive');
    expect(await gate(g, 'state_mismatch')).toMatchObject({ state: 'pass', value: 0 });
    expect(await state()).toMatchObject({ stage: 'canary', percent: 10, paused: false, version: 1 });
    expect(receiver.received).toEqual([]);
  }, 60_000);

  it('freeze holds the step; a failing streak shorter than threshold does nothing', async () => {
    let depth = 0;
    const config = configWith({ policy: 'freeze' });
    await operator(store.db, { action: 'set', percent: 25 });
    const { guard: g } = guard(config, { spool: () => depth });
    depth = 5000;
    await ticks(g, 2);
    depth = 0;
    await g.tick(); // the streak ends
    depth = 5000;
    await ticks(g, 2);
    expect(await state()).toMatchObject({ stage: 'canary', percent: 25, paused: false });
    expect((await g.status()).orders!.consecutiveFailures).toBe(2);
    await g.tick();
    expect(await state()).toMatchObject({ stage: 'canary', percent: 25, paused: true });
    const [freeze] = await listAudit(store.db, { entity: 'orders', limit: 1 });
    expect(freeze).toMatchObject({ action: 'pause', reason: 'spool_depth', actor: 'guard' });
    await ticks(g, 3); // still failing, same streak: no second action
    expect((await listAudit(store.db, { entity: 'orders', limit: 10 })).filter((e) => e.actor === 'guard')).toHaveLength(1);
  }, 60_000);

  it('alert only notifies; dry run (per entity) evaluates and says what it would do, and acts on nothing', async () => {
    let depth = 5000;
    await operator(store.db, { action: 'set', percent: 25 });
    const alert = guard(configWith({ policy: 'alert' }), { spool: () => depth });
    await ticks(alert.guard, 3);
    await until(() => receiver.received.length === 1, 'the alert', 10_000);
    expect(receiver.received[0]!.json).toMatchObject({ action: 'alert', reason: 'spool_depth', dryRun: false });
    expect(await state()).toMatchObject({ stage: 'canary', percent: 25, paused: false, version: 1 });
    await alert.guard.stop();

    // A new leader carries the streak on (already acted on): a passing evaluation ends it first.
    depth = 0;
    const dry = guard(configWith({}, { rollback: { dryRun: true } }), { spool: () => depth });
    await dry.guard.tick();
    depth = 5000;
    await ticks(dry.guard, 4);
    await until(() => receiver.received.length === 2, 'the dry-run notification', 10_000);
    expect(receiver.received[1]!.json).toMatchObject({ action: 'would_rollback', reason: 'spool_depth', dryRun: true });
    expect(receiver.received[1]!.json['text']).toMatch(/would rollback \(dry run\)/);
    expect(await state()).toMatchObject({ stage: 'canary', percent: 25, paused: false, version: 1 });
    expect((await dry.guard.status()).orders).toMatchObject({ dryRun: true, lastAction: { action: 'would_rollback' } });
    expect(
      await metricValue(dry.metrics.registry, 'strangler_guard_actions_total', {
        entity: 'orders',
        action: 'would_rollback',
        reason: 'spool_depth',
      }),
    ).toBe(1);
  }, 60_000);

  it('auto-promotion walks 10 → 25 → 50 → 100 after the stable period, audited as the guard', async () => {
    const config = configWith({ promotion: { enabled: true } });
    await reconcile(config); // a fresh, clean report: state_mismatch passes
    await operator(store.db, { action: 'set', percent: 10 });
    const { guard: g } = guard(config, { stableMs: 300 });
    const seen: number[] = [10];
    await until(
      async () => {
        feed(g, { rm: 30, legacy: 30, match: 30 });
        await g.tick();
        const s = await state();
        if (s.percent !== seen.at(-1)) seen.push(s.percent);
        return s.stage === 'complete';
      },
      'the guard to promote to complete',
      30_000,
      100,
    );
    expect(seen).toEqual([10, 25, 50, 100]);
    const promotions = (await listAudit(store.db, { entity: 'orders', limit: 10 })).filter((e) => e.action === 'promote').reverse();
    expect(promotions.map((e) => [e.actor, e.source, e.after.percent])).toEqual([
      ['guard', 'guard', 25],
      ['guard', 'guard', 50],
      ['guard', 'guard', 100],
    ]);
    expect(promotions[0]!.gates).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'projection_lag', state: 'pass' })]));
  }, 60_000);

  it('a leader that dies holding the lease is replaced once the lease expires; the new leader acts', async () => {
    let depth = 0;
    await operator(store.db, { action: 'set', percent: 25 });
    const config = configWith({ intervalMs: 300, threshold: 2 });
    const a = guard(config, { spool: () => depth }).guard;
    await until(() => a.isLeader(), 'the first guard to lead', 10_000);
    const b = guard(config, { spool: () => depth }).guard;
    await b.tick();
    expect(b.isLeader()).toBe(false);
    // A dies without a word: its timer stops, its lease stays (3 intervals).
    await a.stop();
    await store.db.query(`UPDATE strangler_guard_lease SET owner = $1, expires_at = clock_timestamp() + interval '900 milliseconds'`, [
      a.replica,
    ]);
    await ticks(b, 2); // the second surely started after the update
    expect(b.isLeader()).toBe(false);
    await until(() => b.isLeader(), 'the other guard to take the expired lease', 10_000);
    depth = 5000;
    // Rollback, then pause: two changes; the audit is read once both are in.
    await until(
      async () => {
        const s = await state();
        return s.stage === 'shadow' && s.paused;
      },
      'the new leader to roll back and hold',
      10_000,
    );
    const [, rollback] = await listAudit(store.db, { entity: 'orders', limit: 2 });
    expect(rollback).toMatchObject({ action: 'rollback', reason: 'spool_depth', actor: 'guard' });
  }, 60_000);

  it('after its rollback the step is held until an operator resumes; then the guard restores it', async () => {
    let depth = 5000;
    await operator(store.db, { action: 'set', percent: 25 });
    const { guard: g } = guard(configWith({}), { spool: () => depth });
    await ticks(g, 3);
    expect(await state()).toMatchObject({ stage: 'shadow', percent: 0, paused: true });
    depth = 0;
    await ticks(g, 2);
    expect(await state()).toMatchObject({ stage: 'shadow', percent: 0, paused: true }); // held: only an operator releases it
    await operator(store.db, { action: 'resume' });
    await g.tick();
    expect(await state()).toMatchObject({ stage: 'canary', percent: 25, paused: false });
    const [restore] = await listAudit(store.db, { entity: 'orders', limit: 1 });
    expect(restore).toMatchObject({ actor: 'guard', action: 'set', reason: 'resumed by an operator after a guard rollback' });
  }, 60_000);
});
