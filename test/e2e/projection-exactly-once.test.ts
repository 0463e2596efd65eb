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
import { seededRandom } from '../helpers/seed.ts';
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
    // Batches of at most 500 (they would grow to 10,000 while behind): many batch boundaries for the kills to land between and inside.
    config = await writeCounterConfig(testDb.url, { maxBatchSize: 500 });
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
    const rand = seededRandom('exactly-once kill points');
    const thresholds = Array.from({ length: KILLS - 1 }, () => rand.int(1_000, EVENTS - 2_000)).sort((a, b) => a - b);
    const startupDelayMs = rand.int(200, 800);
    const afterThresholdMs = thresholds.map(() => rand.int(0, 20));
    console.log(
      `kill points: start-up +${startupDelayMs} ms, then past ${thresholds.map((t, i) => `${t} events +${afterThresholdMs[i]} ms`).join(', ')}`,
    );
    const killedAt: number[] = [];
    /** A runner that logged an error is a failure of this test, not the end of a wait. */
    const failIfErrored = (proc: RunnerProcess) => {
      // pino error/fatal lines, or an uncaught error's text.
      if (/"level":(50|60)|Error/.test(proc.output())) throw new Error(`runner ${proc.tag} reported an error:\n${proc.output()}`);
    };
    let p = startRunnerProcess(config.file, 'first');
    procs.push(p);
    await sleep(startupDelayMs);
    failIfErrored(p);
    await p.kill();
    killedAt.push((await counterRow(store.db))?.applied ?? 0);

    for (const [i, threshold] of thresholds.entries()) {
      p = startRunnerProcess(config.file, `after-${killedAt.length}`);
      procs.push(p);
      const proc = p;
      await until(
        async () => {
          failIfErrored(proc);
          return ((await counterRow(store.db))?.applied ?? 0) >= threshold;
        },
        `catch-up past ${threshold}`,
        60_000,
        5,
      );
      await sleep(afterThresholdMs[i]!); // somewhere inside or between batches
      failIfErrored(p);
      await p.kill();
      killedAt.push((await counterRow(store.db))!.applied);
    }
    console.log(`killed with ${killedAt.join(', ')} events applied`);
    expect(killedAt.filter((n) => n > 0 && n < EVENTS).length).toBeGreaterThanOrEqual(KILLS - 2); // the kills landed mid catch-up

    p = startRunnerProcess(config.file, 'last');
    procs.push(p);
    const last = p;
    await until(
      async () => {
        failIfErrored(last);
        return (await counterRow(store.db))?.applied === EVENTS;
      },
      'the full catch-up',
      90_000,
      25,
    );
    expect(await p.stop()).toEqual({ code: 0, signal: null }); // SIGTERM: clean stop, exit 0
    expect((await counterRow(store.db))!.leaseOwner).toBeNull();

    const model = await counterReadModel(store.db);
    expect(model).toMatchObject({ appliedEvents: EVENTS, maxTimes: 1, minTimes: 1 });
    expect(model.totals).toEqual(foldCounter(appended));
  });

  it('`strangler projections status` shows the projection caught up; `rebuild` switches to fresh tables with the same read model', async () => {
    // A database of its own, caught up here: nothing from the kill test above is relied on.
    const db = await createPgTestDb('e2e_proj_rebuild');
    const own = await openEventStore({ url: db.url, migrate: true, poolSize: 2 });
    const cfg = await writeCounterConfig(db.url);
    try {
      const appended = await appendCountedEvents(own, 2_000, 20);
      const runner = startRunnerProcess(cfg.file, 'status');
      procs.push(runner);
      await until(async () => (await counterRow(own.db))?.applied === 2_000, 'the catch-up', 60_000, 25);
      expect(await runner.stop()).toEqual({ code: 0, signal: null });

      const status = spawnStrangler(['projections', 'status', '--json', '--url', db.url]);
      expect(await status.exited).toEqual({ code: 0, signal: null });
      expect(JSON.parse(status.output())).toEqual([
        expect.objectContaining({ name: 'counter', status: 'running', appliedEvents: 2_000, lagEvents: 0, lagMs: 0 }),
      ]);

      const before = await counterReadModel(own.db);
      expect(before.totals).toEqual(foldCounter(appended));
      const rebuild = spawnStrangler(['projections', 'rebuild', 'counter', '--config', cfg.file], { COUNTER_VERSION: '2' });
      expect(await rebuild.exited).toEqual({ code: 0, signal: null });
      expect(rebuild.output()).toMatch(
        /rebuild counter v2: switched to the new tables \(counter_totals, counter_applications\) at position \d+; 2000 events/,
      );
      const after = await counterReadModel(own.db);
      expect(after).toEqual(before);
      const { rows } = await own.db.query<{ version: number; tables: string }>(
        "SELECT version, tables::text AS tables FROM strangler_projections WHERE name = 'counter'",
      );
      expect(rows[0]!.version).toBe(2);
    } finally {
      await own.close();
      await db.drop();
      await cfg.remove();
    }

    const unknown = spawnStrangler(['projections', 'rebuild', 'nope', '--config', config.file]);
    expect((await unknown.exited).code).toBe(2);
    expect(unknown.output()).toContain('Unknown projection "nope"');
  });
});
