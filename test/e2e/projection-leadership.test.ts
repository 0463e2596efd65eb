/**
 * Two runner processes on the same projection: only the lease holder applies; when it is
 * SIGKILLed the standby takes over within a few seconds (lease 5 s, standby poll 1 s), and
 * every event is applied exactly once across both (the counter projection records who
 * applied each event and how many times).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEventStore, type EventStore } from '../../src/eventstore/index.ts';
import { createPgTestDb, type TestDb } from '../harness/db.ts';
import {
  appendCountedEvents,
  counterReadModel,
  counterRow,
  foldCounter,
  startRunnerProcess,
  writeCounterConfig,
  type RunnerProcess,
} from './fixtures/projectionProcess.ts';
import { sleep, until } from './fixtures/wait.ts';

const EVENTS = 6_000;

describe('two runner processes on one projection', () => {
  let testDb: TestDb;
  let store: EventStore;
  let config: Awaited<ReturnType<typeof writeCounterConfig>>;
  const procs: RunnerProcess[] = [];

  beforeAll(async () => {
    testDb = await createPgTestDb('e2e_proj_lead');
    store = await openEventStore({ url: testDb.url, migrate: true, poolSize: 4 });
    // Batches pinned at 50 (they would grow while behind): the catch-up must last past B's start-up.
    config = await writeCounterConfig(testDb.url, { maxBatchSize: 50 });
  });
  afterAll(async () => {
    for (const p of procs) await p.kill();
    await store?.close();
    await testDb?.drop();
    await config?.remove();
  });

  const appliedBy = async () => {
    const { rows } = await store.db.query<{ by: string; n: string }>(
      'SELECT applied_by AS by, count(*) AS n FROM counter_applications GROUP BY 1 ORDER BY 1',
    );
    return Object.fromEntries(rows.map((r) => [r.by, Number(r.n)]));
  };

  it('only one applies; killed, the other takes over within a few seconds; no event applied twice, none skipped', async () => {
    const appended = await appendCountedEvents(store, EVENTS, 20);
    // 80 ms per 50-event batch: the catch-up takes at least 9.6 s, well past B's start-up
    // (a few seconds of tsx under a loaded CI machine) and the 1.5 s wait, so A is killed mid-way.
    const slow = { COUNTER_DELAY_MS: '80' };
    const a = startRunnerProcess(config.file, 'A', slow);
    procs.push(a);
    await until(async () => ((await counterRow(store.db))?.applied ?? 0) > 0, 'A applying', 30_000);
    const owner = (await counterRow(store.db))!.leaseOwner!;
    expect(owner).toMatch(new RegExp(`:${a.pid}:`));

    const b = startRunnerProcess(config.file, 'B', slow);
    procs.push(b);
    await until(() => b.output().includes('projection runners started'), 'B started', 30_000);
    await sleep(1_500); // B is up and polling for the lease
    expect((await counterRow(store.db))!.leaseOwner).toBe(owner);
    expect(Object.keys(await appliedBy())).toEqual(['A']);

    const beforeKill = (await counterRow(store.db))!.applied;
    expect(beforeKill).toBeLessThan(EVENTS); // still catching up
    await a.kill();
    const killedAt = Date.now();
    await until(
      async () => {
        const row = await counterRow(store.db);
        return row !== null && row.leaseOwner !== null && row.leaseOwner.includes(`:${b.pid}:`) && row.applied > beforeKill;
      },
      'B takes over and applies',
      20_000,
      20,
    );
    // How fast is the lease's business (lease 5 s + standby poll 1 s); the wait above only bounds a hang.
    console.log(`B took over and applied ${Date.now() - killedAt} ms after A was killed`);

    await until(async () => (await counterRow(store.db))!.applied === EVENTS, 'the catch-up completes on B', 60_000);
    expect(await b.stop()).toEqual({ code: 0, signal: null });

    const model = await counterReadModel(store.db);
    expect(model).toMatchObject({ appliedEvents: EVENTS, maxTimes: 1, minTimes: 1 });
    expect(model.totals).toEqual(foldCounter(appended));
    const by = await appliedBy();
    expect(Object.keys(by).sort()).toEqual(['A', 'B']);
    expect(by.A! + by.B!).toBe(EVENTS);
    expect(by.A).toBeGreaterThanOrEqual(beforeKill); // what A committed before dying stays, exactly once
  });
});
