import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEventStore, type EventStore } from '../../src/eventstore/index.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { createMetrics } from '../../src/metrics/metrics.ts';
import { commitBatch } from '../../src/projections/runner/commitBatch.ts';
import { LeaseLostError } from '../../src/projections/runner/errors.ts';
import { claimLease } from '../../src/projections/runner/lease.ts';
import { readProjection, registerProjection } from '../../src/projections/runner/projectionRow.ts';
import { createProjectionRunner, type ProjectionRunner } from '../../src/projections/runner/runner.ts';
import { createProjectionWorkers } from '../../src/projections/runner/workers.ts';
import { rebaseToEpoch } from '../../src/projections/runner/rebase.ts';
import { createPgTestDb, type TestDb } from '../harness/db.ts';
import { metricValue } from '../helpers/metrics.ts';
import { sleep, until } from '../e2e/fixtures/wait.ts';
import { createCounterProjection, foldCounter } from '../e2e/fixtures/projectionCounter.ts';

const waitFor = (what: string, check: () => Promise<boolean>, timeoutMs = 20_000) => until(check, what, timeoutMs, 25);

/** Appends `streams` × `perStream` Counted events; returns what a fold from scratch needs. */
async function appendCounted(store: EventStore, prefix: string, streams: number, perStream: number) {
  const appended: { streamId: string; amount: number }[] = [];
  for (let s = 0; s < streams; s++) {
    const streamId = `${prefix}-${s}`;
    const events = Array.from({ length: perStream }, (_, i) => ({ type: 'Counted', data: { amount: (s * 7 + i) % 13 } }));
    await store.append(streamId, events);
    appended.push(...events.map((e) => ({ streamId, amount: e.data.amount })));
  }
  return appended;
}

async function readModel(store: EventStore, prefix = '') {
  const { rows } = await store.db.query<{ stream_id: string; n: string; total: string }>(
    `SELECT stream_id, n, total FROM "${prefix}counter_totals" ORDER BY stream_id`,
  );
  return new Map(rows.map((r) => [r.stream_id, { n: Number(r.n), total: Number(r.total) }]));
}

async function applications(store: EventStore) {
  const { rows } = await store.db.query<{ n: string; max: number | null }>(
    'SELECT count(*) AS n, max(times) AS max FROM counter_applications',
  );
  return { events: Number(rows[0]!.n), maxTimes: rows[0]!.max ?? 0 };
}

// Each test gets an event store of its own: none depends on events, checkpoints or rows
// another test left.
describe('projection runner (PostgreSQL 15)', () => {
  let testDb: TestDb;
  let store: EventStore;
  let runners: { stop(): Promise<void> }[] = [];
  const logger = silentLogger();

  beforeEach(async () => {
    testDb = await createPgTestDb('projrun');
    store = await openEventStore({ url: testDb.url, migrate: true, poolSize: 20 });
    runners = [];
  });
  afterEach(async () => {
    await Promise.all(runners.map((r) => r.stop()));
    await store?.close();
    await testDb?.drop();
  });

  function runner(opts: Partial<Parameters<typeof createProjectionRunner>[0]> & { owner: string }): ProjectionRunner {
    const r = createProjectionRunner({
      store,
      module: createCounterProjection(),
      logger,
      pollMs: 20,
      standbyMs: 50,
      leaseMs: 1_000,
      retryBackoffMs: 5,
      ...opts,
    });
    runners.push(r);
    return r;
  }

  /** Events appended and the counter projection caught up with them, then stopped: a checkpoint past 0. */
  async function caughtUp() {
    const appended = await appendCounted(store, 'c', 5, 10);
    const r = runner({ owner: 'one' });
    r.start();
    await waitFor('catch-up', async () => (await readProjection(store.db, 'counter'))?.appliedEvents === appended.length);
    await r.stop();
    return appended;
  }

  it('catches up in batches, each batch and its checkpoint in one transaction: the read model equals a fold from scratch, lag 0', async () => {
    const appended = await appendCounted(store, 'a', 20, 60);
    const metrics = createMetrics();
    const r = runner({ owner: 'one', metrics, batchSize: 50 });
    r.start();
    await waitFor('catch-up', async () => (await readProjection(store.db, 'counter'))?.appliedEvents === appended.length);
    expect(await readModel(store)).toEqual(foldCounter(appended));
    expect(await applications(store)).toEqual({ events: appended.length, maxTimes: 1 });
    await waitFor(
      'lag metrics',
      async () =>
        (await metricValue(metrics.registry, 'strangler_projection_lag_events', { projection: 'counter' })) === 0 && r.state().lag !== null,
    );
    expect(await metricValue(metrics.registry, 'strangler_projection_events_applied_total', { projection: 'counter' })).toBe(
      appended.length,
    );
    expect(await metricValue(metrics.registry, 'strangler_projection_leader', { projection: 'counter' })).toBe(1);
    await r.stop();
    await r.stop(); // idempotent
    expect((await readProjection(store.db, 'counter'))?.leaseOwner).toBeNull(); // released on a clean stop
  });

  it('a batch whose checkpoint moved under it (an overlapping runner) aborts and applies nothing', async () => {
    await caughtUp();
    const row = (await claimLease(store.db, 'counter', 'stale', 60_000))!;
    const { events } = await store.readAll({ after: { transactionId: '0', position: 0 }, limit: 5 });
    const before = await applications(store);
    let applied = false;
    const attempt = commitBatch(
      store.db,
      { name: 'counter', owner: 'stale', expected: { transactionId: '0', position: 0 }, leaseMs: 1000 },
      events,
      async () => {
        applied = true;
      },
    );
    await expect(attempt).rejects.toBeInstanceOf(LeaseLostError);
    expect(applied).toBe(false);
    // And a holder whose lease was taken over aborts even with the right checkpoint.
    await store.db.query("UPDATE strangler_projections SET lease_owner = 'other' WHERE name = 'counter'");
    await expect(
      commitBatch(store.db, { name: 'counter', owner: 'stale', expected: row.checkpoint, leaseMs: 1000 }, events, async () => {}),
    ).rejects.toThrow(/held by other/);
    expect(await applications(store)).toEqual(before);
  });

  it('two runners on one projection: one applies, the other stands by and takes over when the holder stops; nothing twice, nothing skipped', async () => {
    const a = runner({ owner: 'runner-a', module: createCounterProjection({ tag: 'a', delayMs: 5 }), batchSize: 20 });
    const b = runner({ owner: 'runner-b', module: createCounterProjection({ tag: 'b', delayMs: 5 }), batchSize: 20 });
    a.start();
    await waitFor('a leads', async () => a.state().leader);
    b.start();
    const appended = await appendCounted(store, 'b', 10, 40);
    await sleep(300);
    expect(b.state().leader).toBe(false);
    await a.stop(); // b takes over at once (released), or after the lease expires
    await waitFor('b leads', async () => b.state().leader, 5_000);
    // Events appended once a has stopped can only be b's: b applies after taking over.
    const head = await store.headPosition();
    const later = await appendCounted(store, 'b-later', 5, 20);
    await waitFor('catch-up', async () => (await store.countAfter((await readProjection(store.db, 'counter'))!.checkpoint)) === 0);
    const { rows } = await store.db.query<{ by: string; n: string }>(
      "SELECT applied_by AS by, count(*) AS n FROM counter_applications WHERE applied_by IN ('a', 'b') GROUP BY 1",
    );
    expect(rows.reduce((s, r) => s + Number(r.n), 0)).toBe(appended.length + later.length);
    const byB = await store.db.query<{ n: string }>(
      "SELECT count(*) AS n FROM counter_applications WHERE position > $1 AND applied_by = 'b'",
      [head],
    );
    expect(Number(byB.rows[0]!.n)).toBe(later.length);
    expect((await applications(store)).maxTimes).toBe(1);
    await b.stop();
  });

  it('several projections run in parallel through the worker pool', async () => {
    const appended = await appendCounted(store, 'w', 10, 30);
    const names = ['p1', 'p2', 'p3'];
    const modules = names.map((name) => createCounterProjection({ name, tablePrefix: `${name}_` }));
    const workers = createProjectionWorkers({
      store,
      projections: modules.map((module) => ({ module })),
      workers: 2,
      logger,
      pollMs: 20,
      standbyMs: 50,
      leaseMs: 1_000,
    });
    runners.push(workers);
    workers.start();
    await waitFor('all caught up', async () => {
      for (const n of names) {
        const row = await readProjection(store.db, n);
        if (!row || (await store.countAfter(row.checkpoint)) > 0) return false;
      }
      return true;
    });
    for (const n of names) {
      expect((await readProjection(store.db, n))!.appliedEvents).toBe(appended.length);
      expect(await readModel(store, `${n}_`)).toEqual(foldCounter(appended));
    }
    await workers.stop();
  });

  it('re-bases the checkpoint by position when the store epoch changes (dump/restore), and refuses when the position is gone', async () => {
    await caughtUp();
    const before = (await readProjection(store.db, 'counter'))!;
    expect(before.checkpoint.position).toBeGreaterThan(0);
    const epoch = await store.epoch();
    await store.db.query("UPDATE strangler_projections SET epoch = 'cluster-before-restore' WHERE name = 'counter'");
    expect(await rebaseToEpoch(store, 'counter', epoch)).toBe('rebased');
    const after = (await readProjection(store.db, 'counter'))!;
    expect(after.epoch).toBe(epoch);
    expect(after.checkpoint).toEqual(await store.checkpointAt(before.checkpoint.position));
    expect(await rebaseToEpoch(store, 'counter', epoch)).toBe('unchanged');
    await store.db.query("UPDATE strangler_projections SET epoch = 'x', checkpoint_pos = 999999999 WHERE name = 'counter'");
    await expect(rebaseToEpoch(store, 'counter', epoch)).rejects.toThrow(/no event has position 999999999.*projections rebuild counter/);
  });

  it('registers a projection once whatever the number of replicas starting together', async () => {
    const m = createCounterProjection({ name: 'reg' });
    await Promise.all([1, 2, 3, 4].map(async () => registerProjection(store.db, m, await store.epoch())));
    expect((await readProjection(store.db, 'reg'))?.checkpoint.position).toBe(0);
  });
});
