/**
 * The runner's batch adapts while behind (batchSize.ts): it grows from projections.batchSize
 * up to a cap while batches come back full, drops back when caught up, and a poison event
 * in a grown batch is still isolated by halving (every event before it lands, none after).
 * Behavioural: the limits the runner asks the store for are recorded; nothing is timed.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEventStore, type EventStore } from '../../src/eventstore/index.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { readProjection } from '../../src/projections/runner/projectionRow.ts';
import { createProjectionRunner, type ProjectionRunner } from '../../src/projections/runner/runner.ts';
import { createCounterProjection } from '../e2e/fixtures/projectionCounter.ts';
import { until } from '../e2e/fixtures/wait.ts';
import { createPgTestDb, type TestDb } from '../harness/db.ts';

const waitFor = (what: string, check: () => Promise<boolean>) => until(check, what, 30_000, 25);

describe('projection runner batch size (PostgreSQL 15)', () => {
  let testDb: TestDb;
  let store: EventStore;
  const runners: ProjectionRunner[] = [];

  // A database per test: each reads the whole log, so none may see another's events.
  beforeEach(async () => {
    testDb = await createPgTestDb('projbatch');
    store = await openEventStore({ url: testDb.url, migrate: true, poolSize: 8 });
  });
  afterEach(async () => {
    await Promise.all(runners.splice(0).map((r) => r.stop()));
    await store?.close();
    await testDb?.drop();
  });

  /**
   * The store with every batch read's limit recorded, in call order (a wrapper: the database
   * is real). The lag probe's one-event reads (lag.ts) are left out: batchSize here is 10.
   */
  function recording(limits: number[]): EventStore {
    return {
      ...store,
      readAll: (o) => {
        if (o.limit !== 1) limits.push(o.limit ?? -1);
        return store.readAll(o);
      },
    };
  }

  function runner(name: string, limits: number[], fixed?: () => boolean): ProjectionRunner {
    const r = createProjectionRunner({
      store: recording(limits),
      module: createCounterProjection({ name, tablePrefix: `${name}_`, ...(fixed ? { fixed } : {}) }),
      owner: `${name}-owner`,
      logger: silentLogger(),
      batchSize: 10,
      maxBatchSize: 160,
      pollMs: 20,
      retryBackoffMs: 5,
      maxRetries: 1,
    });
    runners.push(r);
    return r;
  }

  const applied = async (name: string) => (await readProjection(store.db, name))?.appliedEvents ?? -1;

  it('grows up to the cap while behind and drops back to batchSize when caught up; a live event is read with batchSize', async () => {
    const streams = 20;
    for (let s = 0; s < streams; s++)
      await store.append(
        `grow-${s}`,
        Array.from({ length: 50 }, (_, i) => ({ type: 'Counted', data: { amount: i } })),
      );
    const limits: number[] = [];
    const r = runner('grow', limits);
    r.start();
    await waitFor('catch-up of 1000 events', async () => (await applied('grow')) === 1000);
    const behind = [...limits];
    expect(behind.slice(0, 3)).toEqual([10, 40, 160]);
    expect(Math.max(...behind)).toBe(160);
    // 1000 events in 10+40+160×n: far fewer reads than 1000/10.
    expect(behind.filter((l) => l === 160).length).toBeGreaterThanOrEqual(4);

    await waitFor('an idle read at batchSize', async () => limits.length > behind.length && limits.at(-1) === 10);
    const idleFrom = limits.length;
    await store.append('grow-live', [{ type: 'Counted', data: { amount: 1 } }]);
    await waitFor('the live event applied', async () => (await applied('grow')) === 1001);
    expect(limits.slice(idleFrom).every((l) => l === 10)).toBe(true);
    const { rows } = await store.db.query<{ n: string }>('SELECT sum(n) AS n FROM grow_counter_totals');
    expect(Number(rows[0]!.n)).toBe(1001);
    await r.stop();
  });

  it('a poison event in a grown batch is isolated by halving: every event before it is applied, none after', async () => {
    await store.append(
      'poison-a',
      Array.from({ length: 300 }, (_, i) => ({ type: 'Counted', data: { amount: i } })),
    );
    const poison = await store.append('poison-b', [{ type: 'Poison', data: { amount: 'x' } }]);
    await store.append(
      'poison-c',
      Array.from({ length: 100 }, () => ({ type: 'Counted', data: { amount: 1 } })),
    );
    const limits: number[] = [];
    const r = runner('poisoned', limits);
    r.start();
    await waitFor('paused on the poison event', async () => (await readProjection(store.db, 'poisoned'))?.status === 'paused');
    const row = (await readProjection(store.db, 'poisoned'))!;
    // Every event before the poison one was applied, none after it; the failure names the poison event.
    const before = await store.db.query<{ n: string }>('SELECT count(*) AS n FROM strangler_events WHERE global_position < $1', [
      poison.events[0]!.position,
    ]);
    expect(row.appliedEvents).toBe(Number(before.rows[0]!.n));
    expect(row.failure?.eventId).toBe(poison.events[0]!.id);
    const { rows } = await store.db.query<{ stream_id: string; n: string }>(
      'SELECT stream_id, n FROM poisoned_counter_totals ORDER BY stream_id',
    );
    expect(rows.map((x) => [x.stream_id, Number(x.n)])).toEqual([['poison-a', 300]]);
    // The batch that held the poison event had grown beyond batchSize.
    expect(Math.max(...limits)).toBeGreaterThan(10);
    await r.stop();
  });
});
