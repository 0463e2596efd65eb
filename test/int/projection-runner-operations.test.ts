import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main, type CliIo } from '../../src/cli/main.ts';
import { openEventStore, type EventStore } from '../../src/eventstore/index.ts';
import { createLogger, silentLogger } from '../../src/logging/logger.ts';
import { createMetrics } from '../../src/metrics/metrics.ts';
import { readProjection } from '../../src/projections/runner/projectionRow.ts';
import { rebuildProjection, type RebuildProgress } from '../../src/projections/runner/rebuild.ts';
import { createProjectionRunner } from '../../src/projections/runner/runner.ts';
import { createPgExecutor } from '../../src/db/pgExecutor.ts';
import { createPgTestDb, type TestDb } from '../harness/db.ts';
import { metricValue } from '../helpers/metrics.ts';
import { sleep, until } from '../e2e/fixtures/wait.ts';
import { createCounterProjection } from '../e2e/fixtures/projectionCounter.ts';

const waitFor = (what: string, check: () => Promise<boolean>, timeoutMs = 20_000) => until(check, what, timeoutMs, 25);

async function cli(url: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (l) => out.push(l), err: (l) => err.push(l), env: {} };
  const code = await main([...args, '--url', url], io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

// An event store per test: the poison test counts events from the start of the log.
describe('projection failures and operator commands (PostgreSQL 15)', () => {
  let testDb: TestDb;
  let store: EventStore;
  let stops: (() => Promise<void>)[] = [];

  beforeEach(async () => {
    testDb = await createPgTestDb('projops');
    store = await openEventStore({ url: testDb.url, migrate: true, poolSize: 20 });
    stops = [];
  });
  afterEach(async () => {
    for (const stop of stops) await stop();
    await store?.close();
    await testDb?.drop();
  });

  it('a poison event pauses the projection with the error visible; resume after fixing; skip moves the next one to dead-letter', async () => {
    const fix = { fixed: false };
    const metrics = createMetrics();
    const runner = createProjectionRunner({
      store,
      module: createCounterProjection({ name: 'poisoned', tablePrefix: 'poisoned_', fixed: () => fix.fixed }),
      owner: 'ops-runner',
      logger: process.env.DEBUG_RUNNER ? createLogger({ level: 'debug' }) : silentLogger(),
      metrics,
      batchSize: 50,
      pollMs: 20,
      maxRetries: 2,
      retryBackoffMs: 5,
    });
    stops.push(() => runner.stop());
    await store.append(
      'p-1',
      Array.from({ length: 30 }, () => ({ type: 'Counted', data: { amount: 1 } })),
    );
    const poison = await store.append('p-1', [{ type: 'Poison', data: { amount: 'x' } }]);
    await store.append(
      'p-1',
      Array.from({ length: 20 }, () => ({ type: 'Counted', data: { amount: 1 } })),
    );
    const poisonId = poison.events[0]!.id;
    runner.start();

    await waitFor('paused', async () => (await readProjection(store.db, 'poisoned'))?.status === 'paused');
    const row = (await readProjection(store.db, 'poisoned'))!;
    expect(row.failure?.eventId).toBe(poisonId);
    expect(row.failure?.error).toMatch(/cannot project poison event/);
    expect(row.appliedEvents).toBe(30); // the batch was halved: every good event before the poison one landed
    const applied = await store.db.query<{ n: string }>('SELECT count(*) AS n FROM poisoned_counter_applications');
    expect(Number(applied.rows[0]!.n)).toBe(30);
    await waitFor(
      'paused metric',
      async () => (await metricValue(metrics.registry, 'strangler_projection_paused', { projection: 'poisoned' })) === 1,
    );
    expect(await metricValue(metrics.registry, 'strangler_projection_failures_total', { projection: 'poisoned', kind: 'pause' })).toBe(1);

    const status = await cli(testDb.url, 'projections', 'status');
    expect(status.code).toBe(0);
    expect(status.out).toMatch(/poisoned\s+failed/); // paused on a failing event
    expect(status.out).toContain(`failing event ${poisonId}`);
    expect(status.out).toContain('cannot project poison event');
    const json = JSON.parse((await cli(testDb.url, 'projections', 'status', '--json')).out) as {
      name: string;
      status: string;
      lagEvents: number;
      failure: { eventId: string };
    }[];
    expect(json.find((p) => p.name === 'poisoned')).toMatchObject({ status: 'paused', lagEvents: 21, failure: { eventId: poisonId } });

    // Nothing after the poison event was applied while paused: never a silent skip.
    await sleep(200);
    expect((await readProjection(store.db, 'poisoned'))!.appliedEvents).toBe(30);

    fix.fixed = true;
    expect((await cli(testDb.url, 'projections', 'resume', 'poisoned')).code).toBe(0);
    await waitFor('caught up after resume', async () => (await readProjection(store.db, 'poisoned'))!.appliedEvents === 51);
    expect((await readProjection(store.db, 'poisoned'))!.failure).toBeNull();
    await waitFor(
      'unpaused metric',
      async () => (await metricValue(metrics.registry, 'strangler_projection_paused', { projection: 'poisoned' })) === 0,
      5_000,
    );

    // A second poison event, this time skipped to the dead-letter table.
    fix.fixed = false;
    const second = await store.append('p-2', [
      { type: 'Poison', data: {} },
      { type: 'Counted', data: { amount: 5 } },
    ]);
    await waitFor('paused again', async () => (await readProjection(store.db, 'poisoned'))?.status === 'paused');
    expect((await cli(testDb.url, 'projections', 'resume', 'nope')).code).toBe(2); // unknown projection: usage
    const skip = await cli(testDb.url, 'projections', 'skip', 'poisoned');
    expect(skip.code).toBe(0);
    expect(skip.out).toContain(second.events[0]!.id);
    await waitFor('caught up after skip', async () => (await readProjection(store.db, 'poisoned'))!.appliedEvents === 53);
    const dead = await store.db.query<{ event_id: string; error: string; event_type: string }>(
      "SELECT event_id, error, event_type FROM strangler_dead_letters WHERE projection = 'poisoned'",
    );
    expect(dead.rows).toEqual([
      { event_id: second.events[0]!.id, error: expect.stringMatching(/cannot project poison/), event_type: 'Poison' },
    ]);
    const totals = await store.db.query<{ total: string }>("SELECT total FROM poisoned_counter_totals WHERE stream_id = 'p-2'");
    expect(Number(totals.rows[0]!.total)).toBe(5); // the event after the skipped one was applied
    expect((await cli(testDb.url, 'projections', 'skip', 'poisoned')).code).toBe(1); // nothing to skip now
  });

  it('rebuild while a reader loops on the served table: never empty, never half-built; then the live runner continues on the new tables', async () => {
    const live = createProjectionRunner({
      store,
      module: createCounterProjection({ name: 'served', tablePrefix: 'served_', fixed: () => true }),
      owner: 'live',
      logger: silentLogger(),
      pollMs: 20,
      batchSize: 500,
    });
    stops.push(() => live.stop());
    for (let s = 0; s < 40; s++)
      await store.append(
        `r-${s}`,
        Array.from({ length: 250 }, (_, i) => ({ type: 'Counted', data: { amount: i % 5 } })),
      );
    live.start();
    const served = async () => (await readProjection(store.db, 'served'))!;
    await waitFor('live caught up', async () => {
      const row = await readProjection(store.db, 'served');
      return row !== null && (await store.countAfter(row.checkpoint)) === 0;
    });
    const countServed = `SELECT count(*) AS n, coalesce(sum(times), 0) AS t FROM served_counter_applications WHERE event_id IS NOT NULL`;
    const liveRows = Number((await store.db.query<{ n: string }>(countServed)).rows[0]!.n);
    expect(liveRows).toBe(await store.countAfter({ transactionId: '0', position: 0 })); // every event in the log

    // The reader: its own connection, a tight loop, every answer recorded.
    const reader = createPgExecutor({ url: testDb.url, max: 1 });
    const seen: number[] = [];
    let reading = true;
    const loop = (async () => {
      while (reading) {
        const { rows } = await reader.query<{ n: string; t: string }>(countServed);
        seen.push(Number(rows[0]!.n));
        if (rows[0]!.n !== rows[0]!.t) throw new Error(`an event counted twice: ${rows[0]!.n} rows, ${rows[0]!.t} applications`);
      }
    })();

    const progress: RebuildProgress[] = [];
    const result = await rebuildProjection({
      store,
      module: createCounterProjection({ name: 'served', tablePrefix: 'served_', version: 2, delayMs: 2, fixed: () => true }),
      owner: 'rebuilder',
      batchSize: 500,
      progressIntervalMs: 0,
      onProgress: (p) => progress.push(p),
    });
    await sleep(100);
    reading = false;
    await loop;
    await reader.close();

    expect(result.applied).toBe(liveRows);
    expect(progress.some((p) => p.phase === 'building')).toBe(true);
    expect(progress.at(-1)).toMatchObject({ phase: 'done', remaining: 0 });
    expect(seen.length).toBeGreaterThan(20);
    expect(new Set(seen)).toEqual(new Set([liveRows])); // every read saw the full table, old or new
    const row = await served();
    expect(row).toMatchObject({
      version: 2,
      rebuild: null,
      appliedEvents: liveRows,
      tables: { served_counter_totals: 'served_counter_totals', served_counter_applications: 'served_counter_applications' },
    });
    const leftovers = await store.db.query<{ n: string }>("SELECT count(*) AS n FROM pg_tables WHERE tablename LIKE 'served_%__rb_%'");
    expect(Number(leftovers.rows[0]!.n)).toBe(0);
    const indexes = await store.db.query<{ indexname: string }>(
      "SELECT indexname FROM pg_indexes WHERE tablename = 'served_counter_applications'",
    );
    expect(indexes.rows.map((r) => r.indexname)).toEqual(['served_counter_applications_pkey']);

    // The live runner's next compare-and-set saw the moved checkpoint; it goes on applying into the new tables.
    await store.append('r-after', [{ type: 'Counted', data: { amount: 3 } }]);
    await waitFor(
      'live applies after the swap',
      async () => Number((await store.db.query<{ n: string }>(countServed)).rows[0]!.n) === liveRows + 1,
    );
    const twice = await store.db.query<{ n: string }>('SELECT count(*) AS n FROM served_counter_applications WHERE times > 1');
    expect(Number(twice.rows[0]!.n)).toBe(0);
  });
});
