/**
 * Exactly-once effect under at-least-once delivery, with real processes: a 20,000-event
 * catch-up by `strangler projections run`, SIGKILLed at random points (during start-up,
 * mid-batch, between batches), restarted each time. The counter projection is NOT
 * idempotent on purpose (it sums, and counts applications per event id), so an event
 * applied twice or skipped shows in the read model. Each restart also shows takeover of
 * a lease left behind by a dead holder.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEventStore, type EventStore } from '../../src/eventstore/index.ts';
import { createPgTestDb, type TestDb } from '../harness/db.ts';
import {
  appendCountedEvents,
  counterReadModel,
  counterRow,
  foldCounter,
  spawnStrangler,
  startRunnerProcess,
  writeCounterConfig,
  type RunnerProcess,
} from './fixtures/projectionProcess.ts';
import { sleep, until } from './fixtures/wait.ts';

const EVENTS = 20_000;
const KILLS = 5;

describe('projection runner killed with SIGKILL during a 20,000-event catch-up', () => {
  let testDb: TestDb;
  let store: EventStore;
  let config: Awaited<ReturnType<typeof writeCounterConfig>>;
  const procs: RunnerProcess[] = [];

  beforeAll(async () => {
    testDb = await createPgTestDb('e2e_proj_once');
    store = await openEventStore({ url: testDb.url, migrate: true, poolSize: 4 });
    config = await writeCounterConfig(testDb.url);
  });
  afterAll(async () => {
    for (const p of procs) await p.kill();
    await store?.close();
    await testDb?.drop();
    await config?.remove();
  });

  it('after every kill and restart, the read model equals a replay computed from scratch: no event twice, none skipped', async () => {
    const appended = await appendCountedEvents(store, EVENTS, 40);
    expect(appended).toHaveLength(EVENTS);

    // One kill while starting up, the rest once the catch-up has passed a random point.
    const thresholds = Array.from({ length: KILLS - 1 }, () => 1_000 + Math.floor(Math.random() * (EVENTS - 3_000))).sort((a, b) => a - b);
    const killedAt: number[] = [];
    let p = startRunnerProcess(config.file, 'first');
    procs.push(p);
    await sleep(200 + Math.random() * 600);
    await p.kill();
    killedAt.push((await counterRow(store.db))?.applied ?? 0);

    for (const threshold of thresholds) {
      p = startRunnerProcess(config.file, `after-${killedAt.length}`);
      procs.push(p);
      await until(
        async () => ((await counterRow(store.db))?.applied ?? 0) >= threshold || p.output().includes('Error'),
        `catch-up past ${threshold}`,
        60_000,
        5,
      );
      await sleep(Math.random() * 20); // somewhere inside or between batches
      await p.kill();
      killedAt.push((await counterRow(store.db))!.applied);
    }
    expect(killedAt.filter((n) => n > 0 && n < EVENTS).length).toBeGreaterThanOrEqual(KILLS - 2); // the kills landed mid catch-up

    p = startRunnerProcess(config.file, 'last');
    procs.push(p);
    await until(async () => (await counterRow(store.db))?.applied === EVENTS, 'the full catch-up', 90_000, 25);
    expect(await p.stop()).toEqual({ code: 0, signal: null }); // SIGTERM: clean stop, exit 0
    expect((await counterRow(store.db))!.leaseOwner).toBeNull();

    const model = await counterReadModel(store.db);
    expect(model).toMatchObject({ appliedEvents: EVENTS, maxTimes: 1, minTimes: 1 });
    expect(model.totals).toEqual(foldCounter(appended));
  });

  it('`strangler projections status` shows the projection caught up; `rebuild` switches to fresh tables with the same read model', async () => {
    const status = spawnStrangler(['projections', 'status', '--json', '--url', testDb.url]);
    expect(await status.exited).toEqual({ code: 0, signal: null });
    expect(JSON.parse(status.output())).toEqual([
      expect.objectContaining({ name: 'counter', status: 'running', appliedEvents: EVENTS, lagEvents: 0, lagMs: 0 }),
    ]);

    const before = await counterReadModel(store.db);
    const rebuild = spawnStrangler(['projections', 'rebuild', 'counter', '--config', config.file], { COUNTER_VERSION: '2' });
    expect(await rebuild.exited).toEqual({ code: 0, signal: null });
    expect(rebuild.output()).toMatch(
      /rebuild counter v2: switched to the new tables \(counter_totals, counter_applications\) at position \d+; 20000 events/,
    );
    const after = await counterReadModel(store.db);
    expect(after).toEqual(before);
    const { rows } = await store.db.query<{ version: number }>("SELECT version FROM strangler_projections WHERE name = 'counter'");
    expect(rows[0]!.version).toBe(2);

    const unknown = spawnStrangler(['projections', 'rebuild', 'nope', '--config', config.file]);
    expect((await unknown.exited).code).toBe(2);
    expect(unknown.output()).toContain('Unknown projection "nope"');
  });
});
