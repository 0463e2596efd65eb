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

// Idle, a caught-up runner costs queries on the event store every poll. Once a NOTIFY has come
// through, the poll is only the fallback: once a second, and the lag is read at lagIntervalMs
// (1 s), not on every idle poll as well. Where none comes through (a transaction-pooling
// PgBouncer accepts the LISTEN and delivers nothing), the runner keeps polling every 250 ms.
for (const delivery of ['delivered', 'never delivered'] as const) {
  describe(`an idle runner whose notifications are ${delivery} (PostgreSQL 15)`, () => {
    let testDb: TestDb;
    let store: EventStore;
    let workers: ProjectionWorkers;
    const calls = { readAll: 0, countAfter: 0 };

    beforeAll(async () => {
      testDb = await createPgTestDb('idlepoll');
      const opened = await openEventStore({ url: testDb.url, migrate: true });
      store = {
        ...opened,
        readAll: (o) => (calls.readAll++, opened.readAll(o)),
        countAfter: (c) => (calls.countAfter++, opened.countAfter(c)),
        // Never delivered: every wake-up looks like the one after connecting.
        ...(delivery === 'never delivered' ? { onAppended: (fn) => opened.onAppended!(() => fn(false)) } : {}),
      };
      workers = createProjectionWorkers({
        store,
        projections: [{ module: createCounterProjection() }],
        workers: 1,
        logger: silentLogger(),
      });
      workers.start();
      await store.append('count-0', [{ type: 'Counted', data: { amount: 1 } }]);
      store.signalAppended().catch(() => {});
      await until(store, 1, 20_000);
    });
    afterAll(async () => {
      await workers?.stop();
      await store?.close();
      await testDb?.drop();
    });

    it(delivery === 'delivered' ? 'polls and reads its lag once a second, and is still woken at once' : 'polls every 250 ms', async () => {
      await sleep(1_500); // settled in its idle loop
      const before = { ...calls };
      await sleep(4_000);
      const reads = calls.readAll - before.readAll;
      const counts = calls.countAfter - before.countAfter;
      if (delivery === 'never delivered') {
        expect(reads).toBeGreaterThanOrEqual(14); // ~16 polls, plus a lag read each second
        return;
      }
      // ~4 step reads and ~4 lag reads (a count and a one-event read). At the 250 ms poll
      // with a lag read on every idle poll it was ~32 reads and ~16 counts.
      expect(reads).toBeGreaterThanOrEqual(4);
      expect(reads).toBeLessThanOrEqual(12);
      expect(counts).toBeGreaterThanOrEqual(2);
      expect(counts).toBeLessThanOrEqual(6);
      const t0 = Date.now();
      await store.append('count-1', [{ type: 'Counted', data: { amount: 1 } }]);
      createAppendSignal(store)();
      await until(store, 2, 10_000);
      expect(Date.now() - t0).toBeLessThan(900); // woken, not waiting out the 1 s poll
    });
  });
}
