import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.ts';
import { connect } from '../../src/db/connect.ts';
import type { Executor } from '../../src/db/executor.ts';
import { openEventStore, type EventStore } from '../../src/eventstore/index.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { createRowProjection, describeLegacyTable } from '../../src/projections/modules/row/index.ts';
import type { ProjectionModule } from '../../src/projections/types.ts';
import { skipFailedEvent } from '../../src/projections/runner/operations.ts';
import { readProjection } from '../../src/projections/runner/projectionRow.ts';
import { createProjectionRunner, type ProjectionRunner } from '../../src/projections/runner/runner.ts';
import { createReconciler } from '../../src/reconcile/reconciler.ts';
import { repairRun } from '../../src/reconcile/repair/repair.ts';
import { getRun } from '../../src/reconcile/store/runs.ts';
import { until } from '../e2e/fixtures/wait.ts';
import { createPgTestDb, type TestDb } from '../harness/db.ts';
import { finished } from '../helpers/reconcile.ts';

// Two row entities in one sidecar: a repair of an article appends StranglerRowRepaired to
// an article stream. The users projection handles that event type too (every row
// projection does), so selecting by type alone handed it the article's stream and it
// paused on `foreign_stream`. Each projection reads only its own streams.
const config = configSchema.parse({
  legacy: { upstream: 'http://127.0.0.1:3000' },
  reconciliation: { graceMs: 0 },
  entities: {
    articles: {
      stream: 'article-{id}',
      projection: 'row',
      commands: [
        { route: 'POST /articles', event: 'ArticleCreated', id: '$.id', capture: 'response' },
        { route: 'PATCH /articles/:id', event: 'ArticleUpdated' },
      ],
      reconcile: { columns: ['id', 'title'] },
    },
    users: {
      stream: 'user-{id}',
      projection: 'row',
      commands: [
        { route: 'POST /users', event: 'UserCreated', id: '$.id', capture: 'response' },
        { route: 'PATCH /users/:id', event: 'UserUpdated' },
      ],
      reconcile: { columns: ['id', 'name'] },
    },
  },
});
// Created in beforeAll: their read-model tables are made from the legacy tables' columns.
let articles: ProjectionModule;
let users: ProjectionModule;
const event = (type: string, data: unknown) => [{ id: randomUUID(), type, data, metadata: { schemaVersion: 1 } }];

describe('corrective events reach only their entity (PostgreSQL)', () => {
  let legacyDb: TestDb;
  let storeDb: TestDb;
  let legacy: Executor;
  let store: EventStore;
  let runners: ProjectionRunner[] = [];

  beforeAll(async () => {
    legacyDb = await createPgTestDb('streamsl');
    storeDb = await createPgTestDb('streamss');
    legacy = await connect({ url: legacyDb.url, max: 2 });
    store = await openEventStore({ url: storeDb.url, migrate: true, poolSize: 6 });
    await legacy.exec(`CREATE TABLE articles (id text PRIMARY KEY, title text NOT NULL);
                       CREATE TABLE users (id text PRIMARY KEY, name text NOT NULL);
                       INSERT INTO articles VALUES ('a1', 'One'), ('a2', 'Two');
                       INSERT INTO users VALUES ('u1', 'Ann');`);
    articles = createRowProjection({
      entity: 'articles',
      config: config.entities.articles!,
      legacy: await describeLegacyTable(legacy, 'articles'),
    });
    users = createRowProjection({ entity: 'users', config: config.entities.users!, legacy: await describeLegacyTable(legacy, 'users') });
    await store.append('article-a1', event('ArticleCreated', { id: 'a1', title: 'One' }));
    await store.append('article-a2', event('ArticleCreated', { id: 'a2', title: 'Two' }));
    await store.append('user-u1', event('UserCreated', { id: 'u1', name: 'Ann' }));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(runners.map((r) => r.stop()));
    await legacy?.close();
    await store?.close();
    await legacyDb?.drop();
    await storeDb?.drop();
  });

  const caughtUp = async (name: string, head: number) => {
    const row = await readProjection(store.db, name);
    return row !== null && (row.status === 'paused' || row.checkpoint.position >= head);
  };

  it('repairing an article leaves the users projection running, its position advancing past the repair', async () => {
    runners = [articles, users].map((module) =>
      createProjectionRunner({ store, module, owner: 'test', logger: silentLogger(), pollMs: 5, maxRetries: 1, retryBackoffMs: 1 }),
    );
    for (const r of runners) r.start();
    const seeded = await store.headPosition();
    await until(
      async () => (await caughtUp('articles', seeded)) && (await caughtUp('users', seeded)),
      'both projections to catch up',
      20_000,
    );

    // Drift behind the service's back, found and repaired through the real repair path.
    await legacy.query(`UPDATE articles SET title = 'One, edited' WHERE id = 'a1'`);
    const reconciler = createReconciler({
      config,
      legacy,
      store: store.db,
      projections: [
        { entity: 'articles', module: articles },
        { entity: 'users', module: users },
      ],
      logger: silentLogger(),
    });
    const drift = finished(await reconciler.run({ entity: 'articles' }));
    expect(drift).toMatchObject({ differing: 1 });
    const repair = await repairRun({
      plan: await reconciler.plan('articles'),
      run: (await getRun(store.db, drift.runId))!,
      legacy,
      store: store.db,
      apply: true,
    });
    expect(repair.counts).toMatchObject({ appended: 1 });
    const [repaired] = (await store.readStream('article-a1')).slice(-1);
    expect(repaired!.type).toBe('StranglerRowRepaired');

    // A user command after the repair: the users projection must get past the repair to apply it.
    await store.append('user-u1', event('UserUpdated', { name: 'Bea' }));
    const head = await store.headPosition();
    expect(head).toBeGreaterThan(repaired!.position);
    await until(
      async () => (await caughtUp('articles', head)) && (await caughtUp('users', head)),
      'both projections to reach the head',
      20_000,
    );

    const usersRow = await readProjection(store.db, 'users');
    expect({ status: usersRow!.status, failure: usersRow!.failure?.error ?? null }).toEqual({ status: 'running', failure: null });
    expect(usersRow!.checkpoint.position).toBe(head);
    const articlesRow = await readProjection(store.db, 'articles');
    expect(articlesRow!.status).toBe('running');
    expect((await store.db.query('SELECT name FROM users')).rows).toEqual([{ name: 'Bea' }]);
    expect((await store.db.query("SELECT title FROM articles WHERE id = 'a1'")).rows).toEqual([{ title: 'One, edited' }]);
    // Only its own events were applied: none of the articles.
    expect(usersRow!.appliedEvents).toBe(2);
  }, 60_000);

  it("a poison event after other streams' events pauses the projection, and skip finds it past them", async () => {
    // Counts its events; fails on any event whose data says poison.
    const poisoned: ProjectionModule = {
      name: 'tallies',
      version: 1,
      tables: ['tallies'],
      handles: ['Tick'],
      streams: ['tally-'],
      ddl: (t) => `CREATE TABLE IF NOT EXISTS ${t.tallies} (n int)`,
      async apply(tx, events, t) {
        for (const e of events) {
          if ((e.data as { poison?: boolean }).poison) throw new Error('poison');
          await tx.query(`INSERT INTO ${t.tallies} VALUES (1)`);
        }
      },
    };
    await store.append('tally-1', event('Tick', {}));
    await store.append('other-1', event('Tick', {}));
    await store.append('other-2', event('Tick', {}));
    await store.append('tally-1', event('Tick', { poison: true }));
    await store.append('other-3', event('Tick', {}));
    await store.append('tally-1', event('Tick', {}));
    const head = await store.headPosition();
    const runner = createProjectionRunner({
      store,
      module: poisoned,
      owner: 'test',
      logger: silentLogger(),
      pollMs: 5,
      maxRetries: 1,
      retryBackoffMs: 1,
    });
    runners.push(runner);
    runner.start();
    await until(async () => (await readProjection(store.db, 'tallies'))?.status === 'paused', 'the poison event to pause it', 20_000);
    const paused = (await readProjection(store.db, 'tallies'))!;
    expect(paused.appliedEvents).toBe(1);

    const skipped = await skipFailedEvent(store, 'tallies', 'test');
    expect(skipped).toMatchObject({ streamId: 'tally-1', position: paused.failure!.checkpoint.position });
    await until(async () => await caughtUp('tallies', head), 'the projection to run to the head after the skip', 20_000);
    const after = (await readProjection(store.db, 'tallies'))!;
    expect({ status: after.status, position: after.checkpoint.position }).toEqual({ status: 'running', position: head });
    expect((await store.db.query('SELECT count(*)::int AS n FROM tallies')).rows).toEqual([{ n: 2 }]);
  }, 60_000);
});
