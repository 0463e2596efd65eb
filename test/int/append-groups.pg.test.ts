import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgExecutor } from '../../src/db/pgExecutor.ts';
import { createEventStore, openEventStore, type EventStore } from '../../src/eventstore/index.ts';
import { createMetrics } from '../../src/metrics/metrics.ts';
import { createPgTestDb, type TestDb } from '../harness/db.ts';
import { metricValue } from '../helpers/metrics.ts';
import { seededRandom } from '../helpers/seed.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Grouped appends against what only a real server does: many connections, lost connections. */
describe('grouped appends under contention and failure (PostgreSQL 15)', () => {
  let testDb: TestDb;
  let store: EventStore;
  beforeAll(async () => {
    testDb = await createPgTestDb('egc');
    store = await openEventStore({ url: testDb.url, migrate: true, poolSize: 8 });
  });
  afterAll(async () => {
    await store?.close();
    await testDb?.drop();
  });

  it('two sidecars appending to the same streams in random order never deadlock: every append holds, versions have no gap', async () => {
    const a = await openEventStore({ url: testDb.url, poolSize: 4 });
    const b = await openEventStore({ url: testDb.url, poolSize: 4 });
    const streams = Array.from({ length: 10 }, () => `hot-${randomUUID()}`);
    const counts = new Map(streams.map((s) => [s, 0]));
    const rand = seededRandom('append-groups stream order');
    const loop = async (s: EventStore) => {
      for (let i = 0; i < 100; i++) {
        const target = rand.pick(streams);
        counts.set(target, counts.get(target)! + 1);
        await s.append(target, [{ type: 'Hit', data: { i } }], { expected: 'any' });
      }
    };
    await Promise.all([...Array.from({ length: 8 }, () => loop(a)), ...Array.from({ length: 8 }, () => loop(b))]);
    const [sa, sb] = [a.appendStats(), b.appendStats()];
    await a.close();
    await b.close();
    expect(sa.appends + sb.appends).toBe(1600);
    // Groups formed (fewer statements than appends), and none fell back: no deadlock, no retry.
    expect(sa.statements + sb.statements).toBeLessThan(1600);
    expect(sa.fallbacks + sb.fallbacks).toBe(0);
    for (const s of streams) {
      const versions = (await store.readStream(s)).map((e) => e.version);
      expect(versions).toEqual(Array.from({ length: counts.get(s)! }, (_, i) => i + 1));
    }
  });

  it('the grouping counters reach /metrics at scrape time: statements, appends, fallbacks', async () => {
    const grouped = createEventStore(store.db, 'grouped', { appendGroups: { maxInFlight: 1, maxAppends: 64, maxEventsPerAppend: 100 } });
    const metrics = createMetrics();
    metrics.watchAppendStats(() => grouped.appendStats());
    const id = randomUUID();
    // One alone, then 5 in one group, one of which replays a stored id: the group falls back.
    await grouped.append(`m-${randomUUID()}`, [{ id, type: 'A', data: {} }]);
    await Promise.all([
      grouped.append(`m-${randomUUID()}`, [{ type: 'Opener', data: {} }]),
      ...Array.from({ length: 4 }, () => grouped.append(`m-${randomUUID()}`, [{ type: 'B', data: {} }])),
      grouped.append(`m-${randomUUID()}`, [{ id, type: 'A', data: {} }]).catch(() => null),
    ]);
    const scrape = async () => [
      await metricValue(metrics.registry, 'strangler_append_statements_total'),
      await metricValue(metrics.registry, 'strangler_appends_total'),
      await metricValue(metrics.registry, 'strangler_append_group_fallbacks_total'),
    ];
    expect(await scrape()).toEqual([3, 7, 1]);
    // A second scrape counts nothing twice.
    expect(await scrape()).toEqual([3, 7, 1]);
  });

  /** Another session takes the stream's row and holds it until release(). */
  async function holdStreamRow(streamId: string): Promise<{ release: () => Promise<void> }> {
    const locker = createPgExecutor({ url: testDb.url, max: 1 });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const lockTx = locker.transaction(async (tx) => {
      await tx.query('SELECT 1 FROM strangler_streams WHERE stream_id = $1 FOR UPDATE', [streamId]);
      locked();
      await held;
    });
    await isLocked;
    return {
      release: async () => {
        release();
        await lockTx;
        await locker.close();
      },
    };
  }

  it('a statement stuck on a row lock holds back the appends behind it for stallMs, not until it ends', async () => {
    const grouped = createEventStore(store.db, 'grouped', {
      appendGroups: { maxInFlight: 1, maxAppends: 64, maxEventsPerAppend: 100, stallMs: 300 },
    });
    const hot = `stuck-${randomUUID()}`;
    await store.append(hot, [{ type: 'Created', data: {} }]);
    const lock = await holdStreamRow(hot);
    let hotDone = false;
    const stuck = grouped.append(hot, [{ type: 'Paid', data: {} }]).then((r) => {
      hotDone = true;
      return r;
    });
    const t0 = performance.now();
    const other = await grouped.append(`free-${randomUUID()}`, [{ type: 'Created', data: {} }]);
    const waitedMs = performance.now() - t0;
    expect(other.events[0]!.version).toBe(1);
    expect(hotDone).toBe(false);
    expect(waitedMs).toBeGreaterThanOrEqual(250);
    expect(waitedMs).toBeLessThan(5000);
    await lock.release();
    expect((await stuck).events[0]!.version).toBe(2);
  });

  it('a group whose connection is lost fails each of its appends; retried with the same ids, each is stored once', async () => {
    const grouped = createEventStore(store.db, 'grouped', { appendGroups: { maxInFlight: 1, maxAppends: 64, maxEventsPerAppend: 100 } });
    const hot = `locked-${randomUUID()}`;
    await store.append(hot, [{ type: 'Created', data: {} }]);
    // Another session holds the hot stream's row, so the group waits on it until killed.
    const lock = await holdStreamRow(hot);
    const appends = [
      { stream: hot, events: [{ id: randomUUID(), type: 'Paid', data: {} }] },
      { stream: `a-${randomUUID()}`, events: [{ id: randomUUID(), type: 'Created', data: {} }] },
      {
        stream: `b-${randomUUID()}`,
        events: [
          { id: randomUUID(), type: 'Created', data: {} },
          { id: randomUUID(), type: 'Paid', data: {} },
        ],
      },
    ];
    const opener = grouped.append(`opener-${randomUUID()}`, [{ type: 'Opener', data: {} }]);
    const outcomes = appends.map((x) =>
      grouped.append(x.stream, x.events).then(
        () => null,
        (e: Error) => e,
      ),
    );
    await opener;
    let killed = 0;
    for (let tries = 0; tries < 100 && killed === 0; tries++) {
      const { rows } = await store.db.query<{ n: string }>(
        `SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%strangler_append_group%'`,
      );
      killed = Number(rows[0]!.n);
      if (killed === 0) await sleep(20);
    }
    expect(killed).toBe(1);
    const errors = await Promise.all(outcomes);
    for (const e of errors) expect(e?.message).toMatch(/terminating connection/);
    await lock.release();
    for (const x of appends) expect(await store.streamVersion(x.stream)).toBe(x.stream === hot ? 1 : null);
    // The callers' retry (same ids) stores each append once, whole.
    const retried = await Promise.all(appends.map((x) => grouped.append(x.stream, x.events)));
    expect(retried.map((r) => r.replayed)).toEqual([false, false, false]);
    expect(await store.streamVersion(hot)).toBe(2);
    expect(retried[2]!.events.map((e) => e.version)).toEqual([1, 2]);
  });
});
