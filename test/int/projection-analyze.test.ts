import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEventStore, type EventStore } from '../../src/eventstore/index.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { createGrowthAnalyzer, FIRST_ANALYZE_AFTER } from '../../src/projections/runner/analyzeAsItGrows.ts';
import { createProjectionRunner } from '../../src/projections/runner/runner.ts';
import { createCounterProjection } from '../e2e/fixtures/projectionCounter.ts';
import { createPgTestDb, type TestDb } from '../harness/db.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** When each table was last analyzed by hand (ANALYZE) and by autovacuum, and its planner row estimate. */
async function stats(store: EventStore, table: string) {
  const { rows } = await store.db.query<{ manual: string | null; auto: string | null; reltuples: number }>(
    `SELECT s.last_analyze::text AS manual, s.last_autoanalyze::text AS auto, c.reltuples::float8 AS reltuples
       FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid WHERE s.relname = $1`,
    [table],
  );
  return rows[0];
}

// A read model filled from position 0 gets planner statistics while it fills, not a minute
// later from autovacuum: without them a module's `key = ANY($1)` lookups seq-scan it.
describe('a projection catching up analyzes its fresh tables (PostgreSQL 15)', () => {
  let testDb: TestDb;
  let store: EventStore;

  beforeAll(async () => {
    testDb = await createPgTestDb('analyze');
    store = await openEventStore({ url: testDb.url, migrate: true });
    // More events than the first threshold, over enough streams that the table has rows to count.
    const streams = 500;
    const perStream = Math.ceil((FIRST_ANALYZE_AFTER * 1.5) / streams);
    for (let s = 0; s < streams; s++) {
      await store.append(
        `count-${s}`,
        Array.from({ length: perStream }, () => ({ type: 'Counted', data: { amount: 1 } })),
      );
    }
  });
  afterAll(async () => {
    await store?.close();
    await testDb?.drop();
  });

  it('the runner ANALYZEs the tables once it has applied enough events', async () => {
    const runner = createProjectionRunner({
      store,
      module: createCounterProjection(),
      owner: 'analyze-test',
      logger: silentLogger(),
      batchSize: 500,
      maxBatchSize: 500,
      pollMs: 50,
    });
    runner.start();
    try {
      // Wait for the whole log to be applied (7,500 events: past the first threshold).
      const t0 = Date.now();
      for (;;) {
        const { rows } = await store.db.query<{ n: string }>(
          "SELECT applied_events::text AS n FROM strangler_projections WHERE name = 'counter'",
        );
        if (Number(rows[0]?.n ?? 0) >= FIRST_ANALYZE_AFTER * 1.5) break;
        if (Date.now() - t0 > 60_000) throw new Error(`not caught up within 60 s: ${rows[0]?.n ?? 0} applied`);
        await sleep(50);
      }
      const totals = await stats(store, 'counter_totals');
      const applications = await stats(store, 'counter_applications');
      // The runner's own ANALYZE (last_analyze), not autovacuum's (last_autoanalyze).
      expect(totals?.manual).toEqual(expect.any(String));
      expect(applications?.manual).toEqual(expect.any(String));
      // Analyzed with rows in it: the planner knows the table is not empty.
      expect(applications!.reltuples).toBeGreaterThanOrEqual(FIRST_ANALYZE_AFTER);
      expect(totals!.reltuples).toBeGreaterThan(0);
    } finally {
      await runner.stop();
    }
  });

  it('ANALYZEs at the first threshold, then each time the count doubles, never in between', async () => {
    await store.db.exec(
      'CREATE TABLE analyze_probe (k text PRIMARY KEY); INSERT INTO analyze_probe SELECT g::text FROM generate_series(1, 100) g',
    );
    const analyzer = createGrowthAnalyzer(store.db, undefined, 1_000);
    const when = async () => (await stats(store, 'analyze_probe'))?.manual ?? null;
    await analyzer.applied(999, { probe: 'analyze_probe' });
    expect(await when()).toBeNull();
    await analyzer.applied(1_000, { probe: 'analyze_probe' });
    const first = await when();
    expect(first).not.toBeNull();
    await sleep(20); // last_analyze has microseconds: a second ANALYZE would show a later one
    await analyzer.applied(1_999, { probe: 'analyze_probe' });
    expect(await when()).toBe(first);
    await analyzer.applied(2_000, { probe: 'analyze_probe' });
    const second = await when();
    expect(second).not.toBeNull();
    expect(second! > first!).toBe(true);
  });

  it('a table it may not ANALYZE is logged once and never fails the batch', async () => {
    const warnings: unknown[] = [];
    const analyzer = createGrowthAnalyzer(store.db, { warn: (...args: unknown[]) => warnings.push(args) }, 1);
    await analyzer.applied(1, { gone: 'no_such_table' });
    await analyzer.applied(2, { gone: 'no_such_table' });
    expect(warnings).toHaveLength(1);
  });
});
