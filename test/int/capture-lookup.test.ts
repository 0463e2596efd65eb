/**
 * Identity vs lookup (issue 11, item 1), through the real proxy: a real legacy HTTP service
 * (test/helpers/conduitUpstream.ts) on a real MariaDB and PostgreSQL table whose key (a UUID
 * for articles, an integer for users) never appears in the API. The stream id is the table
 * key; commands find the row by the slug (route parameter or response) or the username.
 */
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runConfigCheck } from '../../src/cli/configCheck.ts';
import { ConfigError, loadConfig } from '../../src/config/index.ts';
import type { Config } from '../../src/config/schema.ts';
import { createMysqlExecutor } from '../../src/db/mysqlExecutor.ts';
import { createPgExecutor } from '../../src/db/pgExecutor.ts';
import type { Executor } from '../../src/db/executor.ts';
import { createLogger } from '../../src/logging/logger.ts';
import { startSidecar, type Sidecar } from '../../src/sidecar.ts';
import { createMysqlTestDb, createPgTestDb, type TestDb } from '../harness/db.ts';
import { slugify, startConduit, type Conduit } from '../helpers/conduitUpstream.ts';
import { metricValue } from '../helpers/metrics.ts';
import { seededRandom } from '../helpers/seed.ts';

const spec = (dbUrl: string, slugColumn = 'slug') => `
legacy: { upstream: "http://127.0.0.1:1", database: { url: "${dbUrl}" } }
entities:
  articles:
    stream: "article-{id}"
    legacy: { table: articles, key: id }
    commands:
      - { route: "POST /api/articles", event: ArticleCreated, capture: row, lookup: { column: ${slugColumn}, response: "$.article.slug" } }
      - { route: "PUT /api/articles/:slug", event: ArticleUpdated, capture: row, lookup: { column: slug, response: "$.article.slug" } }
      - { route: "PATCH /api/articles/:slug", event: ArticleEdited, capture: row, lookup: { column: slug, param: slug } }
      - { route: "DELETE /api/articles/:slug", event: ArticleDeleted, lookup: { column: slug, param: slug } }
  users:
    stream: "user-{id}"
    commands:
      - { route: "PUT /api/user", event: UserUpdated, capture: row, lookup: { column: username, response: "$.user.username" } }
`;

const SCHEMA = {
  mysql: [
    `CREATE TABLE articles (id CHAR(36) NOT NULL PRIMARY KEY, slug VARCHAR(191) NOT NULL UNIQUE, title VARCHAR(191) NOT NULL, body TEXT NULL)
       DEFAULT CHARSET utf8mb4 COLLATE utf8mb4_general_ci`,
    `CREATE TABLE users (id INT NOT NULL PRIMARY KEY, username VARCHAR(100) NOT NULL UNIQUE, bio TEXT NULL)
       DEFAULT CHARSET utf8mb4 COLLATE utf8mb4_general_ci`,
  ],
  postgres: [
    'CREATE TABLE articles (id uuid PRIMARY KEY, slug text NOT NULL UNIQUE, title text NOT NULL, body text)',
    'CREATE TABLE users (id integer PRIMARY KEY, username text NOT NULL UNIQUE, bio text)',
  ],
};

const rand = seededRandom('capture lookup');
const WORDS = ['river', 'stone', 'maple', 'orbit', 'quartz', 'lantern', 'meadow', 'cipher', 'harbor', 'falcon'];
const title = () => `${rand.pick(WORDS)} ${rand.pick(WORDS)} ${rand.int(100, 1_000_000)}`;

describe.each([
  { dialect: 'mysql' as const, create: createMysqlTestDb, open: (url: string) => createMysqlExecutor({ url, max: 4 }) },
  { dialect: 'postgres' as const, create: createPgTestDb, open: (url: string) => createPgExecutor({ url, max: 4 }) },
])('lookup on $dialect: the stream id is the table key, found by slug or username', ({ dialect, create, open }) => {
  let legacyDb: TestDb;
  let storeDb: TestDb;
  let db: Executor;
  let conduit: Conduit;
  let sidecar: Sidecar;
  let spoolDir: string;
  const logLines: string[] = [];
  const userId = rand.int(1000, 1_000_000);

  const configFor = (text: string): Config => {
    const config = loadConfig({ text, env: {} });
    Object.assign(config.legacy, { upstream: conduit.url });
    Object.assign(config.server, { host: '127.0.0.1', port: 0 });
    Object.assign(config.admin, { host: '127.0.0.1', port: 0 });
    config.eventStore.url = storeDb.url;
    config.eventStore.spool.path = spoolDir;
    config.eventStore.appendTimeoutMs = 10_000; // the event is in the store when the client has its answer
    return config;
  };
  const start = (config: Config) => {
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        logLines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    return startSidecar({
      config,
      logger: createLogger({ level: 'info', destination }),
      spoolFsync: false,
      projections: false,
      schedule: false,
    });
  };

  beforeAll(async () => {
    [legacyDb, storeDb] = await Promise.all([create('lookup_legacy'), createPgTestDb('lookup_store')]);
    db = open(legacyDb.url);
    for (const sql of SCHEMA[dialect]) await db.exec(sql);
    const ph = dialect === 'mysql' ? '?, ?' : '$1, $2';
    await db.query(`INSERT INTO users (id, username) VALUES (${ph})`, [userId, 'ann']);
    await db.query(`INSERT INTO users (id, username) VALUES (${ph})`, [userId + 1, 'bob']);
    conduit = await startConduit(db);
    spoolDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'strangler-lookup-'));
    sidecar = await start(configFor(spec(legacyDb.url)));
  }, 60_000);

  afterAll(async () => {
    await sidecar?.stop();
    await conduit?.close();
    await db?.close();
    await Promise.all([legacyDb?.drop(), storeDb?.drop()]);
    if (spoolDir) await fsp.rm(spoolDir, { recursive: true, force: true });
  });

  const send = async (method: string, url: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${sidecar.publicUrl}${url}`, {
      method,
      headers: { 'content-type': 'application/json', 'x-user': 'ann', ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, legacy: res.headers.get('x-legacy'), body: text === '' ? undefined : (JSON.parse(text) as unknown) };
  };
  const keyOf = async (slug: string) => {
    const { rows } = await db.query<{ id: string }>(`SELECT id FROM articles WHERE slug = ${dialect === 'mysql' ? '?' : '$1'}`, [slug]);
    return rows[0] ? String(rows[0].id) : undefined;
  };
  const stream = async (id: string) => (await sidecar.store.readStream(id)).map((e) => [e.type, e.data] as const);
  const captureErrors = (reason: string) =>
    metricValue(sidecar.metrics.registry, 'strangler_capture_errors_total', { entity: 'articles', reason });

  it('create, rename by the response, rename by the route parameter and hard delete all land on the row key stream', async () => {
    const first = title();
    expect((await send('POST', '/api/articles', { article: { title: first, body: 'one' } })).status).toBe(201);
    const id = (await keyOf(slugify(first)))!;
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);

    const second = title();
    const renamed = await send('PUT', `/api/articles/${slugify(first)}`, { article: { title: second } });
    expect(renamed).toMatchObject({ status: 200, body: { article: { slug: slugify(second) } } });
    const third = title();
    expect((await send('PATCH', `/api/articles/${slugify(second)}`, { article: { title: third, body: 'two' } })).status).toBe(200);
    expect(await keyOf(slugify(third))).toBe(id);
    expect((await send('DELETE', `/api/articles/${slugify(third)}`)).status).toBe(204);
    expect(await keyOf(slugify(third))).toBeUndefined();

    expect(await stream(`article-${id}`)).toEqual([
      ['ArticleCreated', { id, slug: slugify(first), title: first, body: 'one' }],
      ['ArticleUpdated', { id, slug: slugify(second), title: second, body: 'one' }],
      ['ArticleEdited', { id, slug: slugify(third), title: third, body: 'two' }],
      ['ArticleDeleted', {}],
    ]);
    // One stream for the row: no stream was named after a slug.
    const streams = await sidecar.store.db.query<{ s: string }>(
      "SELECT DISTINCT stream_id AS s FROM strangler_events WHERE stream_id LIKE 'article-%'",
    );
    expect(streams.rows.map((r) => r.s)).toEqual([`article-${id}`]);
  });

  it('PUT /api/user has no key in its route: the row is found by the username the answer carries (integer key)', async () => {
    const answer = await send('PUT', '/api/user', { user: { bio: 'hello' } });
    expect(answer).toMatchObject({ status: 200, body: { user: { username: 'ann', bio: 'hello' } } });
    const events = await sidecar.store.readStream(`user-${userId}`);
    const data = (e: (typeof events)[number]) => e.data as Record<string, unknown>;
    expect(events.map((e) => [e.type, { ...data(e), id: String(data(e).id) }])).toEqual([
      ['UserUpdated', { id: String(userId), username: 'ann', bio: 'hello' }],
    ]);
  });

  it('commands on one row are appended in the order legacy applied them, though the first answer is slow', async () => {
    const t = title();
    await send('POST', '/api/articles', { article: { title: t, body: 'zero' } });
    const id = (await keyOf(slugify(t)))!;
    // The first edit is applied at once but answered late; the second arrives meanwhile and
    // must wait for the first one's append (the row's turn, taken before forwarding).
    const slow = send('PATCH', `/api/articles/${slugify(t)}`, { article: { body: 'first' } }, { 'x-delay-ms': '400' });
    const ph = dialect === 'mysql' ? '?' : '$1';
    for (let i = 0; i < 500; i++) {
      const { rows } = await db.query<{ body: string }>(`SELECT body FROM articles WHERE id = ${ph}`, [id]);
      if (rows[0]?.body === 'first') break; // applied; its answer is still held back
      await new Promise((r) => setTimeout(r, 20));
    }
    const fast = send('PATCH', `/api/articles/${slugify(t)}`, { article: { body: 'second' } });
    expect((await Promise.all([slow, fast])).map((a) => a.status)).toEqual([200, 200]);
    const events = await sidecar.store.readStream(`article-${id}`);
    expect(events.map((e) => (e.data as { body: string }).body)).toEqual(['zero', 'first', 'second']);
  });

  it('a row not found is a capture error row_not_found, counted and logged; the client gets legacy answer unchanged', async () => {
    const before = await captureErrors('row_not_found');
    const before1 = await sidecar.store.db.query<{ n: string }>('SELECT count(*)::text AS n FROM strangler_events');
    const answer = await send('DELETE', '/api/articles/never-was');
    expect(answer).toEqual({ status: 204, legacy: 'conduit', body: undefined });
    expect(await captureErrors('row_not_found')).toBe(before + 1);
    const logged = logLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.reason === 'row_not_found');
    expect(logged.at(-1)).toMatchObject({ entity: 'articles', route: 'DELETE /api/articles/:slug' });
    expect(String(logged.at(-1)!.detail)).toBe('no articles row with slug = "never-was"');
    const after = await sidecar.store.db.query<{ n: string }>('SELECT count(*)::text AS n FROM strangler_events');
    expect(after.rows[0]!.n).toBe(before1.rows[0]!.n);
  });

  it('start-up refuses a lookup column the legacy table does not have, naming the field', async () => {
    const config = configFor(spec(legacyDb.url, 'slugg'));
    config.eventStore.spool.path = path.join(spoolDir, 'second'); // the running sidecar holds the first
    const error = await start(config).then(
      () => null,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([
      {
        path: 'entities.articles.commands[0].lookup.column',
        message: 'column "slugg" is not in the legacy table articles (its columns: id, slug, title, body)',
        example: 'column: slug',
      },
    ]);
  });

  it('config check says the same, and passes the column that exists', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'strangler-lookup-check-'));
    try {
      const out: string[] = [];
      const io = { out: (l: string) => out.push(l), err: (l: string) => out.push(l), env: {} };
      await fsp.writeFile(path.join(dir, 'bad.yaml'), spec(legacyDb.url, 'slugg'));
      const bad = await runConfigCheck({ configFile: path.join(dir, 'bad.yaml'), io }).catch((err: unknown) => err);
      expect((bad as ConfigError).issues.map((i) => i.path)).toEqual(['entities.articles.commands[0].lookup.column']);
      await fsp.writeFile(path.join(dir, 'good.yaml'), spec(legacyDb.url));
      expect(await runConfigCheck({ configFile: path.join(dir, 'good.yaml'), io })).toBe(0);
      expect(out.join('\n')).toContain('configuration is valid');
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});
