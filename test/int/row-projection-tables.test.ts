import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.ts';
import { connect } from '../../src/db/connect.ts';
import type { Executor } from '../../src/db/executor.ts';
import { openEventStore, type EventStore } from '../../src/eventstore/index.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { loadProjections } from '../../src/projections/registry.ts';
import { readProjection } from '../../src/projections/runner/projectionRow.ts';
import { rebuildProjection } from '../../src/projections/runner/rebuild.ts';
import { createProjectionRunner } from '../../src/projections/runner/runner.ts';
import type { ProjectionModule } from '../../src/projections/types.ts';
import { createReconciler } from '../../src/reconcile/reconciler.ts';
import { repairRun } from '../../src/reconcile/repair/repair.ts';
import { getRun } from '../../src/reconcile/store/runs.ts';
import { until } from '../e2e/fixtures/wait.ts';
import { createMysqlTestDb, createPgTestDb, type TestDb } from '../harness/db.ts';
import { finished } from '../helpers/reconcile.ts';
import { seededRandom } from '../helpers/seed.ts';

// `projection: row` over tables with the legacy's types: the read-model table is the user's
// (created from the legacy columns when absent, used as it is when present), and the
// projection's bookkeeping lives in <table>__strangler_rows.
const event = (type: string, data: unknown) => [{ id: randomUUID(), type, data, metadata: { schemaVersion: 1 } }];
const crud = (name: string, event: string) => [
  { route: `POST /${name}`, event: `${event}Created`, id: '$.id', capture: 'response' },
  { route: `PATCH /${name}/:id`, event: `${event}Updated` },
  { route: `DELETE /${name}/:id`, event: `${event}Deleted` },
];

/** Runs the projection until it reaches the head of the log as it is now; it must not pause. */
async function project(store: EventStore, module: ProjectionModule): Promise<void> {
  const runner = createProjectionRunner({
    store,
    module,
    owner: 'test',
    logger: silentLogger(),
    pollMs: 5,
    maxRetries: 1,
    retryBackoffMs: 1,
  });
  runner.start();
  const head = await store.headPosition();
  try {
    await until(
      async () => {
        const row = await readProjection(store.db, module.name);
        return row !== null && (row.status === 'paused' || row.checkpoint.position >= head);
      },
      `${module.name} to catch up`,
      20_000,
    );
  } finally {
    await runner.stop();
  }
  expect((await readProjection(store.db, module.name))?.failure?.error ?? null).toBeNull();
}

async function columnTypes(db: Executor, schema: string, table: string): Promise<Record<string, string>> {
  const { rows } = await db.query<{ name: string; type: string }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a
      WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [`"${schema}"."${table}"`],
  );
  return Object.fromEntries(rows.map((r) => [r.name, r.type]));
}

describe('row projection over real tables, MariaDB legacy', () => {
  const rand = seededRandom('row projection tables');
  const config = configSchema.parse({
    legacy: { upstream: 'http://127.0.0.1:3000' },
    reconciliation: { graceMs: 0, chunkSize: 4 },
    entities: {
      counters: { stream: 'counter-{id}', commands: crud('counters', 'Counter') },
      docs: { stream: 'doc-{id}', readModel: { table: 'rm.docs' }, commands: crud('docs', 'Doc') },
    },
  });
  const uuid = () =>
    Array.from({ length: 32 }, () => '0123456789abcdef'[rand.int(0, 16)]!)
      .join('')
      .replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-');
  const counters = Array.from({ length: 12 }, (_, i) => ({
    id: i + 1,
    label: `c${rand.int(0, 1000)}`,
    amount: `${rand.int(0, 100000)}.${String(rand.int(0, 100)).padStart(2, '0')}`,
    at: `2026-01-05 09:00:${String(i).padStart(2, '0')}.${String(rand.int(0, 1_000_000)).padStart(6, '0')}`,
    active: rand() < 0.5,
  }));
  const docs = [
    {
      id: uuid(),
      title: 'First',
      body: { tags: ['a', 'b'], n: rand.int(0, 100) },
      price: '12.345',
      published: '2026-02-01 10:00:00.123456',
    },
    { id: uuid(), title: 'Second', body: null, price: null, published: null },
    { id: uuid(), title: 'Third', body: { nested: { ok: true } }, price: '0.500', published: '2026-02-03 00:00:00.000001' },
  ];

  let legacyDb: TestDb;
  let storeDb: TestDb;
  let legacy: Executor;
  let store: EventStore;
  let modules: Record<string, ProjectionModule>;
  const reconciler = () =>
    createReconciler({
      config,
      legacy,
      store: store.db,
      projections: Object.entries(modules).map(([e, module]) => ({ entity: e, module })),
      logger: silentLogger(),
    });
  const reconcile = async (entity: string) => finished(await reconciler().run({ entity }));

  beforeAll(async () => {
    legacyDb = await createMysqlTestDb('rowtables');
    storeDb = await createPgTestDb('rowtables');
    legacy = await connect({ url: legacyDb.url, max: 2 });
    store = await openEventStore({ url: storeDb.url, migrate: true, poolSize: 4 });
    await legacy.exec(`CREATE TABLE counters (id BIGINT PRIMARY KEY, label VARCHAR(40) NOT NULL, amount DECIMAL(12,2) NOT NULL,
                         at DATETIME(6) NOT NULL, active TINYINT(1) NOT NULL);
                       CREATE TABLE docs (id CHAR(36) PRIMARY KEY, title VARCHAR(100) NOT NULL, body JSON NULL,
                         price DECIMAL(10,3) NULL, published DATETIME(6) NULL)`);
    await legacy.query('INSERT INTO counters VALUES ?', [counters.map((c) => [c.id, c.label, c.amount, c.at, c.active ? 1 : 0])]);
    await legacy.query('INSERT INTO docs VALUES ?', [
      docs.map((d) => [d.id, d.title, d.body === null ? null : JSON.stringify(d.body), d.price, d.published]),
    ]);
    for (const c of counters) await store.append(`counter-${c.id}`, event('CounterCreated', c));
    for (const d of docs) await store.append(`doc-${d.id}`, event('DocCreated', d));
    // The real start-up path: the legacy columns are read by loadProjections.
    const loaded = await loadProjections(config.entities, { legacy });
    modules = Object.fromEntries(loaded.map((p) => [p.entity, p.module]));
  }, 60_000);

  afterAll(async () => {
    await legacy?.close();
    await store?.close();
    await legacyDb?.drop();
    await storeDb?.drop();
  });

  it('creates a bigint-key table from the legacy columns; 9 sorts before 10; reconciliation finds 0 differences with the prefilter on', async () => {
    await project(store, modules.counters!);
    expect(await columnTypes(store.db, 'public', 'counters')).toEqual({
      id: 'bigint',
      label: 'character varying(40)',
      amount: 'numeric(12,2)',
      at: 'timestamp(6) without time zone',
      active: 'boolean',
    });
    const { rows } = await store.db.query<{ id: string }>('SELECT id::text AS id FROM counters ORDER BY counters.id');
    expect(rows.map((r) => r.id)).toEqual(counters.map((c) => String(c.id)));
    const report = await reconcile('counters');
    expect(report.prefilter).toMatchObject({ enabled: true });
    expect(report).toMatchObject({
      legacyRows: 12,
      readModelRows: 12,
      matched: 12,
      differing: 0,
      missingInProjection: 0,
      extraInProjection: 0,
    });

    // The prefilter and the merge both catch real drift on the typed columns.
    await legacy.query('UPDATE counters SET amount = amount + 1 WHERE id = 10');
    const drift = await reconcile('counters');
    expect(drift).toMatchObject({ differing: 1, differingColumns: { amount: 1 } });
    await legacy.query('UPDATE counters SET amount = amount - 1 WHERE id = 10');
  }, 60_000);

  it('a CHAR(36) key, typed nullable and JSON columns, in a schema-qualified table: updates merge, deletes leave a tombstone, a replay changes nothing', async () => {
    await project(store, modules.docs!);
    expect(await columnTypes(store.db, 'rm', 'docs')).toEqual({
      id: 'character(36)',
      title: 'character varying(100)',
      body: 'jsonb',
      price: 'numeric(10,3)',
      published: 'timestamp(6) without time zone',
    });
    const [first, second] = docs;
    await store.append(`doc-${first!.id}`, event('DocUpdated', { title: 'First, edited' }));
    await store.append(`doc-${second!.id}`, event('DocDeleted', {}));
    await legacy.query('UPDATE docs SET title = ? WHERE id = ?', ['First, edited', first!.id]);
    await legacy.query('DELETE FROM docs WHERE id = ?', [second!.id]);
    await project(store, modules.docs!);

    const dump = async () => ({
      rows: (await store.db.query('SELECT id, title, body, price::text AS price, published::text AS published FROM rm.docs ORDER BY id'))
        .rows,
      state: (await store.db.query('SELECT key, version::text AS v, deleted, document FROM rm.docs__strangler_rows ORDER BY key')).rows,
    });
    const once = await dump();
    // JSON comes back as text (the executor keeps the server's text).
    const firstRow = once.rows.find((r) => r.id === first!.id)!;
    expect(firstRow).toMatchObject({ title: 'First, edited', price: '12.345' });
    expect(JSON.parse(firstRow.body as string)).toEqual(first!.body);
    expect(once.rows.find((r) => r.id === docs[2]!.id)).toMatchObject({ body: '{"nested": {"ok": true}}', price: '0.500' });
    expect(once.rows.some((r) => r.id === second!.id)).toBe(false);
    expect(once.state.find((s) => s.key === second!.id)).toEqual({ key: second!.id, v: '2', deleted: true, document: null });
    const firstState = once.state.find((s) => s.key === first!.id)!;
    expect(firstState).toMatchObject({ v: '2', deleted: false });
    expect(JSON.parse(firstState.document as string)).toEqual({ ...first, title: 'First, edited' });

    // Every doc event again, the deleted doc's create among them: nothing changes.
    const { events } = await store.readAll({ after: { transactionId: '0', position: 0 }, limit: 1000, streamPrefixes: ['doc-'] });
    await store.db.transaction((tx) =>
      modules.docs!.apply(tx, events, { 'rm.docs': 'rm.docs', 'rm.docs__strangler_rows': 'rm.docs__strangler_rows' }),
    );
    expect(await dump()).toEqual(once);

    const report = await reconcile('docs');
    expect(report).toMatchObject({
      legacyRows: 2,
      readModelRows: 2,
      matched: 2,
      differing: 0,
      missingInProjection: 0,
      extraInProjection: 0,
    });
  }, 60_000);

  it("a repair's after-image (canonical text: ISO instants, 1/0, JSON as text) lands in the typed columns", async () => {
    const [, , third] = docs;
    await legacy.query(`UPDATE docs SET body = '{"n": 2}', price = 7.25, published = '2026-03-04 05:06:07.890123' WHERE id = ?`, [
      third!.id,
    ]);
    await legacy.query('UPDATE counters SET active = 1 - active, at = ? WHERE id = 9', ['2027-01-01 00:00:00.000009']);
    for (const entity of ['docs', 'counters']) {
      const drift = await reconcile(entity);
      expect(drift).toMatchObject({ differing: 1 });
      const r = reconciler();
      const repair = await repairRun({
        plan: await r.plan(entity),
        run: (await getRun(store.db, drift.runId))!,
        legacy,
        store: store.db,
        apply: true,
      });
      expect(repair.counts).toMatchObject({ appended: 1 });
      await project(store, modules[entity]!);
      expect(await reconcile(entity)).toMatchObject({ differing: 0, missingInProjection: 0, extraInProjection: 0 });
    }
    const { rows } = await store.db.query(
      `SELECT body::text AS body, price::text AS price, published::text AS published FROM rm.docs WHERE id = $1`,
      [third!.id],
    );
    expect(rows).toEqual([{ body: '{"n": 2}', price: '7.250', published: '2026-03-04 05:06:07.890123' }]);
  }, 60_000);

  it('a rebuild of the schema-qualified table carries the side table and keeps the types', async () => {
    const before = (await store.db.query('SELECT * FROM rm.docs ORDER BY id')).rows;
    const result = await rebuildProjection({ store, module: modules.docs!, owner: 'test' });
    expect(result.tables).toEqual({ 'rm.docs': 'rm.docs', 'rm.docs__strangler_rows': 'rm.docs__strangler_rows' });
    expect((await store.db.query('SELECT * FROM rm.docs ORDER BY id')).rows).toEqual(before);
    expect(await columnTypes(store.db, 'rm', 'docs')).toMatchObject({ id: 'character(36)', price: 'numeric(10,3)', body: 'jsonb' });
    const { rows } = await store.db.query<{ n: number; deleted: number }>(
      'SELECT count(*)::int AS n, count(*) FILTER (WHERE deleted)::int AS deleted FROM rm.docs__strangler_rows',
    );
    expect(rows[0]).toEqual({ n: 3, deleted: 1 });
    const { rows: left } = await store.db.query("SELECT relname FROM pg_class WHERE relname LIKE '%\\_\\_rb\\_%'");
    expect(left).toEqual([]);
    expect(await reconcile('docs')).toMatchObject({ matched: 2, differing: 0, missingInProjection: 0, extraInProjection: 0 });
  }, 60_000);
});

describe('row projection over real tables, PostgreSQL legacy and a table the user made', () => {
  const config = configSchema.parse({
    legacy: { upstream: 'http://127.0.0.1:3000' },
    reconciliation: { graceMs: 0, chunkSize: 2 },
    entities: {
      people: { stream: 'person-{id}', commands: crud('people', 'Person'), reconcile: { columns: ['id', 'name', 'born'] } },
      tags: { stream: 'tag-{id}', commands: crud('tags', 'Tag') },
      olds: { stream: 'old-{id}', commands: crud('olds', 'Old') },
    },
  });
  let legacyDb: TestDb;
  let storeDb: TestDb;
  let legacy: Executor;
  let store: EventStore;
  let modules: Record<string, ProjectionModule>;

  beforeAll(async () => {
    legacyDb = await createPgTestDb('rowtablesl');
    storeDb = await createPgTestDb('rowtabless');
    legacy = await connect({ url: legacyDb.url, max: 2 });
    store = await openEventStore({ url: storeDb.url, migrate: true, poolSize: 4 });
    await legacy.exec(`CREATE TYPE mood AS ENUM ('calm', 'loud');
                       CREATE TABLE people (id integer PRIMARY KEY, name text NOT NULL, born date);
                       CREATE TABLE tags (id bigint PRIMARY KEY, label varchar(20) NOT NULL, mood mood, weight numeric(6,2));
                       CREATE TABLE olds (id text PRIMARY KEY);
                       INSERT INTO people VALUES (1, 'Ann', '1990-01-02'), (2, 'Bo', NULL), (3, 'Cy', '2001-12-31'), (4, 'Dee', NULL);`);
    // The user's own read-model table, with its own types and an extra column.
    await store.db.exec(`CREATE TABLE people (id integer PRIMARY KEY, name varchar(50) NOT NULL, born date, note text DEFAULT 'x');
                         INSERT INTO people (id, name, born) VALUES (4, 'Dee', NULL);`);
    for (const [id, name, born] of [
      [1, 'Ann', '1990-01-02'],
      [2, 'Bo', null],
      [3, 'Cy', '2001-12-31'],
    ] as const)
      await store.append(`person-${id}`, event('PersonCreated', { id, name, born }));
    // Dee was loaded into the read model before dual-write: her first event is an update.
    await store.append('person-4', event('PersonUpdated', { name: 'Dora' }));
    await legacy.query(`UPDATE people SET name = 'Dora' WHERE id = 4`);
    modules = Object.fromEntries((await loadProjections(config.entities, { legacy })).map((p) => [p.entity, p.module]));
  }, 60_000);

  afterAll(async () => {
    await legacy?.close();
    await store?.close();
    await legacyDb?.drop();
    await storeDb?.drop();
  });

  it('uses an existing table as it is: its types, its extra column, a row loaded before dual-write updated by its first event', async () => {
    await project(store, modules.people!);
    expect(await columnTypes(store.db, 'public', 'people')).toEqual({
      id: 'integer',
      name: 'character varying(50)',
      born: 'date',
      note: 'text',
    });
    const { rows } = await store.db.query('SELECT id, name, born::text AS born FROM people ORDER BY id');
    expect(rows).toEqual([
      { id: 1, name: 'Ann', born: '1990-01-02' },
      { id: 2, name: 'Bo', born: null },
      { id: 3, name: 'Cy', born: '2001-12-31' },
      { id: 4, name: 'Dora', born: null },
    ]);
    const report = finished(
      await createReconciler({
        config,
        legacy,
        store: store.db,
        projections: [{ entity: 'people', module: modules.people! }],
        logger: silentLogger(),
      }).run({ entity: 'people' }),
    );
    expect(report).toMatchObject({ matched: 4, differing: 0, missingInProjection: 0, extraInProjection: 0 });
    expect(report.prefilter).toMatchObject({ enabled: true });
  }, 60_000);

  it('copies PostgreSQL legacy types (an enum as text), and a value that does not fit names its column', async () => {
    const tags = modules.tags!;
    const t = { tags: 'tags', tags__strangler_rows: 'tags__strangler_rows' };
    await store.db.exec(tags.ddl(t));
    expect(await columnTypes(store.db, 'public', 'tags')).toEqual({
      id: 'bigint',
      label: 'character varying(20)',
      mood: 'text',
      weight: 'numeric(6,2)',
    });
    const apply = async (streamId: string, data: unknown) => {
      await store.append(streamId, event('TagCreated', data));
      const [e] = (await store.readStream(streamId)).slice(-1);
      await store.db.transaction((tx) => tags.apply(tx, [e!], t));
    };
    await apply('tag-7', { id: 7, label: 'ok', mood: 'calm', weight: 1.5 });
    await expect(apply('tag-8', { id: 8, label: 'x'.repeat(21) })).rejects.toThrow(
      /tags: a value of the events does not fit column "label" \(character varying\(20\)\): value too long/,
    );
    await expect(apply('tag-9', { id: 9, label: 'w', weight: 'heavy' })).rejects.toThrow(/column "weight" \(numeric\(6,2\)\)/);
    await expect(apply('tag-ten', { label: 'k' })).rejects.toThrow(/column "id" \(bigint\)/);
    expect((await store.db.query('SELECT id::int AS id, label, mood, weight::text AS weight FROM tags')).rows).toEqual([
      { id: 7, label: 'ok', mood: 'calm', weight: '1.50' },
    ]);
  });

  it('refuses a table of the old shape, saying to rebuild it', async () => {
    await store.db.exec(`CREATE TABLE olds (id text PRIMARY KEY, document jsonb NOT NULL, last_version bigint NOT NULL)`);
    const t = { olds: 'olds', olds__strangler_rows: 'olds__strangler_rows' };
    await store.db.exec(modules.olds!.ddl(t));
    await store.append('old-1', event('OldCreated', { id: '1' }));
    const [e] = await store.readStream('old-1');
    await expect(store.db.transaction((tx) => modules.olds!.apply(tx, [e!], t))).rejects.toThrow(
      /olds has the row projection's old shape \(document and last_version columns\); rebuild it: strangler projections rebuild olds/,
    );
    // The rebuild makes the table anew from the legacy columns, then serves it.
    await rebuildProjection({ store, module: modules.olds!, owner: 'test' });
    expect(await columnTypes(store.db, 'public', 'olds')).toEqual({ id: 'text' });
    expect((await store.db.query('SELECT id FROM olds')).rows).toEqual([{ id: '1' }]);
  });
});
