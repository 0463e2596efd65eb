import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAppendSignal, openEventStore, type EventStore } from '../../src/eventstore/index.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { createProjectionWorkers, type ProjectionWorkers } from '../../src/projections/runner/workers.ts';
import { createPgTestDb, type TestDb } from '../harness/db.ts';
import { createCounterProjection } from '../e2e/fixtures/projectionCounter.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function applied(store: EventStore): Promise<number> {
  const exists = await store.db.query<{ t: string | null }>("SELECT to_regclass('counter_totals')::text AS t");
  if (!exists.rows[0]?.t) return 0; // the runner creates it when it first claims its lease
  const { rows } = await store.db.query<{ n: string | null }>('SELECT sum(n) AS n FROM counter_totals');
  return Number(rows[0]?.n ?? 0);
}

/** Waits until the read model holds `n` events; returns how long it took. */
async function until(store: EventStore, n: number, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  while ((await applied(store)) < n) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`read model did not reach ${n} events within ${timeoutMs} ms`);
    await sleep(20);
  }
  return Date.now() - t0;
}

// The runners poll every 30 s here: only the LISTEN/NOTIFY wake-up can make them apply within seconds.
for (const backend of ['PostgreSQL 15', 'embedded PGlite'] as const) {
  describe(`append wake-up (${backend})`, () => {
    let testDb: TestDb | undefined;
    let store: EventStore;
    let workers: ProjectionWorkers;

    beforeAll(async () => {
      if (backend === 'PostgreSQL 15') testDb = await createPgTestDb('wakeup');
      store = await openEventStore({ url: testDb?.url ?? 'memory', migrate: true });
      workers = createProjectionWorkers({
        store,
        projections: [{ module: createCounterProjection() }],
        workers: 1,
        pollMs: 30_000,
        logger: silentLogger(),
      });
      workers.start();
      await store.append('count-0', [{ type: 'Counted', data: { amount: 1 } }]);
      store.signalAppended().catch(() => {});
      await until(store, 1, 20_000); // leadership claimed, first catch-up done: now it idles
    });
    afterAll(async () => {
      await workers?.stop();
      await store?.close();
      await testDb?.drop();
    });

    it('a notified append wakes the idle runner long before its poll interval', async () => {
      await sleep(300); // the runner is in its 30 s idle wait
      const signal = createAppendSignal(store);
      for (let i = 1; i <= 5; i++) {
        await store.append(`count-${i}`, [{ type: 'Counted', data: { amount: i } }]);
        signal();
      }
      const took = await until(store, 6, 10_000);
      expect(took).toBeLessThan(10_000);
    });

    it('without a notification the runner waits for its poll (the wake-up is what made the difference)', async () => {
      const before = await applied(store);
      await sleep(300);
      await store.append('count-silent', [{ type: 'Counted', data: { amount: 1 } }]);
      await sleep(1_500);
      expect(await applied(store)).toBe(before);
      store.signalAppended().catch(() => {});
      await until(store, before + 1, 10_000);
    });
  });
}
