import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { Secret } from '../../src/config/secret.ts';
import { decide, freshMemory } from '../../src/guard/decide.ts';
import { entitySettings, evaluateGates, type Gate } from '../../src/guard/gates.ts';
import { cronPeriodMs } from '../../src/guard/startGuard.ts';
import { createWebhook, signBody } from '../../src/guard/webhook.ts';
import { bucketOf, createGuardStats, emptyCounts, LATENCY_BUCKETS_MS, quantileMs } from '../../src/guard/window.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { Registry } from 'prom-client';
import { openEventStore } from '../../src/eventstore/index.ts';
import { createGuard } from '../../src/guard/guard.ts';
import { createMetrics } from '../../src/metrics/metrics.ts';
import { guardConfig, operator, READY, startReceiver } from '../helpers/guard.ts';
import { until } from '../e2e/fixtures/wait.ts';

const settings = entitySettings(guardConfig({ rollback: { minSamples: 10 } }), 'orders', 60_000);

describe('the guard window', () => {
  it('counts read-model reads, failures, comparisons and latency buckets per entity, and starts again after take()', () => {
    const stats = createGuardStats();
    const route = 'GET /orders/:id';
    stats.read({ entity: 'orders', route, source: 'read-model', outcome: 'served', seconds: 0.002, readModelSeconds: 0.002 });
    stats.read({ entity: 'orders', route, source: 'legacy', outcome: 'timeout', seconds: 0.3, readModelSeconds: 0.25 });
    stats.read({ entity: 'orders', route, source: 'legacy', outcome: 'routed', seconds: 0.004 });
    stats.shadow('orders', route, 'mismatch');
    stats.shadow('orders', route, 'noisy'); // no verdict: not a comparison
    const c = stats.take().get('orders')!;
    expect(c).toMatchObject({ reads: 3, rmReads: 2, rmFailures: 1, compared: 1, mismatches: 1 });
    expect(c.rmLatency.reduce((a, b) => a + b)).toBe(2);
    expect(c.legacyLatency.reduce((a, b) => a + b)).toBe(2);
    expect(stats.take().size).toBe(0);
  });

  it('p99 from summed buckets is the upper bound of the bucket holding the 99th percentile', () => {
    const h = emptyCounts().rmLatency;
    for (let i = 0; i < 99; i++) h[bucketOf(2)]!++;
    h[bucketOf(900)]!++;
    expect(quantileMs(h, 0.99)).toBe(LATENCY_BUCKETS_MS[bucketOf(2)]);
    h[bucketOf(900)]!++;
    expect(quantileMs(h, 0.99)).toBeGreaterThanOrEqual(900);
    expect(quantileMs(emptyCounts().rmLatency, 0.99)).toBeNull();
  });
});

describe('the gates', () => {
  const base = { projection: { name: 'orders', lagMs: 10, state: 'running' }, report: null, window: emptyCounts(), spoolDepth: 0 };
  const byName = (gates: Gate[]) => Object.fromEntries(gates.map((g) => [g.name, g]));

  it('a paused projection fails projection_lag whatever its lag; an old report is inconclusive', () => {
    const g = byName(
      evaluateGates(settings, {
        ...base,
        projection: { name: 'orders', lagMs: 0, state: 'paused' },
        report: { runId: 3, mismatchRate: 0.5, verdict: 'over_tolerance', ageMs: 120_000 },
      }),
    );
    expect(g['projection_lag']).toMatchObject({ state: 'fail', value: 0 });
    expect(g['state_mismatch']).toMatchObject({ state: 'inconclusive', value: 0.5 });
  });

  it('rates over the window count only with minSamples; latency is read-model p99 over legacy p99', () => {
    const w = emptyCounts();
    Object.assign(w, { rmReads: 20, rmFailures: 2, compared: 9, mismatches: 9 });
    w.rmLatency[bucketOf(10)] = 20;
    w.legacyLatency[bucketOf(5)] = 20;
    const g = byName(evaluateGates(settings, { ...base, window: w, spoolDepth: 1001 }));
    expect(g['shadow_mismatch']).toMatchObject({ state: 'inconclusive', value: 1 });
    expect(g['read_errors']).toMatchObject({ state: 'fail', value: 0.1 });
    expect(g['read_latency']!.state).toBe('fail');
    expect(g['read_latency']!.value).toBeGreaterThan(1.5);
    expect(g['spool_depth']).toMatchObject({ state: 'fail', value: 1001, threshold: 1000 });
  });
});

describe('decisions', () => {
  const fail: Gate = { name: 'spool_depth', value: 5000, threshold: 1000, state: 'fail' };
  const pass: Gate = { name: 'spool_depth', value: 0, threshold: 1000, state: 'pass' };
  const inconclusive: Gate = { name: 'read_errors', value: null, threshold: 0.05, state: 'inconclusive' };
  const run = (gates: Gate[][], stage: 'shadow' | 'canary' = 'canary', s = settings) => {
    let memory = freshMemory(1);
    return gates.map((g, i) => {
      const r = decide({
        state: { stage, percent: 10, paused: false, version: 1 },
        gates: g,
        settings: s,
        memory,
        now: i * 1000,
        promotion: { enabled: true, stableMs: 2000 },
        readModelReads: 100,
      });
      memory = r.memory;
      return r.decision.kind === 'act' ? r.decision.action : '-';
    });
  };

  it('acts once at threshold failures in a row; inconclusive neither acts nor promotes; in shadow a rollback holds the step', () => {
    expect(run([[fail], [fail], [pass], [fail], [fail], [fail], [fail]])).toEqual(['-', '-', '-', '-', '-', 'rollback', '-']);
    expect(run([[fail, inconclusive], [inconclusive], [fail], [fail]])).toEqual(['-', '-', '-', '-']);
    expect(run([[fail], [fail], [fail]], 'shadow')).toEqual(['-', '-', 'freeze']);
    expect(run([[pass], [pass], [pass], [pass, inconclusive], [pass]])).toEqual(['-', '-', 'promote', '-', '-']);
    expect(run([[fail], [fail], [fail]], 'canary', { ...settings, policy: 'alert' })).toEqual(['-', '-', 'alert']);
  });
});

describe('the webhook', () => {
  it('signs the exact body, retries a refusing receiver with backoff, and never makes send() wait', async () => {
    const receiver = await startReceiver();
    receiver.respondWith(500);
    const hook = createWebhook({
      url: receiver.url,
      secret: new Secret('s3cret'),
      timeoutMs: 1000,
      retries: 3,
      logger: silentLogger(),
      backoffMs: 50,
    });
    const started = process.hrtime.bigint();
    hook.send({ action: 'rollback', entity: 'orders' });
    const sendNs = process.hrtime.bigint() - started;
    setTimeout(() => receiver.respondWith(200), 80);
    await hook.idle();
    expect(receiver.received).toHaveLength(1);
    const n = receiver.received[0]!;
    expect(n.json).toEqual({ action: 'rollback', entity: 'orders' });
    expect(n.signature).toBe(signBody('s3cret', n.body));
    expect(n.signature).toMatch(/^sha256=[0-9a-f]{64}$/);
    console.log(`webhook send() returned in ${Number(sendNs) / 1e3} µs with the receiver refusing`);
    await hook.stop();
    await receiver.close();
  });

  it('gives up on a receiver that never answers after the timeout and its retries', async () => {
    const server = http.createServer(() => undefined); // never answers
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const hook = createWebhook({
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
      timeoutMs: 100,
      retries: 1,
      logger: silentLogger(),
      backoffMs: 10,
    });
    hook.send({ a: 1 });
    await hook.idle();
    await hook.stop();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
});

it('stop() does not wait out a retry backoff', async () => {
  const server = http.createServer((_req, res) => res.writeHead(503).end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  let attempts = 0;
  server.on('request', () => attempts++);
  const hook = createWebhook({
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    timeoutMs: 1000,
    retries: 5,
    logger: silentLogger(),
    backoffMs: 600_000,
  });
  hook.send({ a: 1 });
  await until(() => attempts === 1, 'the first attempt', 5000);
  await hook.stop(); // the test times out (10 s) if this waits for the 10-minute backoff
  expect(attempts).toBe(1);
  await new Promise((r) => server.close(r));
}, 10_000);

it('maxReportAgeMs defaults to twice the schedule: the longest gap between its next runs', () => {
  expect(cronPeriodMs('0 */6 * * *')).toBe(6 * 3_600_000);
  expect(cronPeriodMs('*/5 * * * *')).toBe(5 * 60_000);
});

it('runs on the embedded PGlite store too: publish, lease, evaluation and a rollback', async () => {
  const store = await openEventStore({ url: 'memory', migrate: true });
  try {
    const config = guardConfig({ rollback: { intervalMs: 3_600_000 }, entities: { orders: {} } });
    const guard = createGuard({
      store,
      config,
      logger: silentLogger(),
      metrics: createMetrics(new Registry()),
      webhook: createWebhook({ url: null, timeoutMs: 1000, retries: 0, logger: silentLogger() }),
      readiness: () => READY,
      projectionOf: () => null,
      spoolDepth: () => 5000,
      maxReportAgeMs: 60_000,
    });
    await operator(store.db, { action: 'set', percent: 25 });
    for (let i = 0; i < 3; i++) await guard.tick();
    expect(guard.isLeader()).toBe(true);
    const s = (await guard.status()).orders!;
    expect(s).toMatchObject({ stage: 'shadow', paused: true, lastAction: { action: 'rollback', reason: 'spool_depth' } });
    expect(s.gates.find((g) => g.name === 'projection_lag')!.state).toBe('inconclusive');
    await guard.stop();
  } finally {
    await store.close();
  }
});
