/**
 * The second sample, behind the sidecar configured by its YAML alone
 * (examples/legacy-articles/strangler.yaml): the articles service on real MariaDB (UUID keys in
 * utf8mb4_general_ci, slug and username routes, envelopes, soft deletes, a favorites
 * sub-resource, JWT auth), the event store and the read models on PostgreSQL.
 *
 * One scripted session, in order: commands through the sidecar → 0 capture errors, one stream
 * per row (renames included), projections caught up, reconciliation clean → drift made with
 * straight SQL on MariaDB → found exactly, repaired, next run clean, the other projection kept
 * running → the sub-resource DELETE kept its article, the actor came from the JWT claim and no
 * metadata holds a token.
 */
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  migrate,
  openDatabase,
  startLegacyArticles,
  type ArticleJson,
  type Database,
  type RunningLegacyArticles,
  type UserJson,
} from '../../examples/legacy-articles/index.ts';
import { loadConfig } from '../../src/config/index.ts';
import { Secret } from '../../src/config/secret.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { readProjection } from '../../src/projections/runner/projectionRow.ts';
import type { ProjectionView } from '../../src/admin/projectionRoutes.ts';
import type { SidecarStatus } from '../../src/admin/statusRoutes.ts';
import type { RepairSummary } from '../../src/reconcile/repair/repairSummary.ts';
import type { RunSummary } from '../../src/reconcile/store/runs.ts';
import { startSidecar, type Sidecar } from '../../src/sidecar.ts';
import { until } from '../e2e/fixtures/wait.ts';
import { createMysqlTestDb, createPgTestDb, type TestDb } from '../harness/db.ts';
import { seededRandom } from '../helpers/seed.ts';

const OPERATOR = 'articles-op-token';
const rand = seededRandom('legacy-articles behind the sidecar');
const word = () => rand.pick(['dragon', 'river', 'lamp', 'orbit', 'maple', 'quartz', 'harbor', 'violet', 'cinder', 'meadow']);
const suffix = `${rand.int(100, 999)}`;

interface Body {
  user: UserJson;
  article: ArticleJson;
}

describe('legacy-articles behind the sidecar (MariaDB legacy, PostgreSQL event store)', () => {
  let legacyDb: TestDb;
  let storeDb: TestDb;
  let database: Database;
  let service: RunningLegacyArticles;
  let sidecar: Sidecar;
  let spoolDir: string;
  /** Every token the service issued during the run. */
  const tokens: string[] = [];
  /** username → its current token. */
  const tokenOf = new Map<string, string>();

  beforeAll(async () => {
    legacyDb = await createMysqlTestDb('articles_legacy');
    storeDb = await createPgTestDb('articles_store');
    database = openDatabase(legacyDb.url, { connectionLimit: 4 });
    await migrate(database.db);
    service = await startLegacyArticles({ db: database.db, jwtSecret: `secret-${suffix}` });
    spoolDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'strangler-articles-'));
    const config = loadConfig({
      file: 'examples/legacy-articles/strangler.yaml',
      env: { STRANGLER_LEGACY_UPSTREAM: service.url, STRANGLER_EVENTSTORE_URL: storeDb.url, STRANGLER_LEGACY_DB_URL: legacyDb.url },
    });
    // Test plumbing only (ports, spool, waits); the migration spec itself is the YAML file.
    Object.assign(config.server, { host: '127.0.0.1', port: 0 });
    Object.assign(config.admin, { host: '127.0.0.1', port: 0 });
    config.admin.resolvedTokens = [{ name: 'ops', role: 'operator', secret: new Secret(OPERATOR) }];
    config.eventStore.spool.path = spoolDir;
    config.eventStore.appendTimeoutMs = 10_000; // the event is in the store when the client has its answer
    config.reconciliation.graceMs = 0;
    sidecar = await startSidecar({ config, logger: silentLogger(), spoolFsync: false, drainIntervalMs: 20, schedule: false });
  }, 60_000);

  afterAll(async () => {
    await sidecar?.stop();
    await service?.close();
    await database?.close();
    await legacyDb?.drop();
    await storeDb?.drop();
    if (spoolDir) await fsp.rm(spoolDir, { recursive: true, force: true });
  });

  /** A call to the service through the sidecar's public port, as `as` (a username) when given. */
  const call = async (method: string, url: string, opts: { as?: string; body?: unknown } = {}) => {
    const headers: Record<string, string> = {};
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    // RealWorld's own spelling, as its clients send it; the sidecar reads the claim from it.
    if (opts.as) headers.authorization = `Token ${tokenOf.get(opts.as)!}`;
    const res = await fetch(sidecar.publicUrl + url, {
      method,
      headers,
      ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
    });
    const text = await res.text();
    const body = (text ? JSON.parse(text) : null) as Body;
    if (body?.user?.token) {
      tokens.push(body.user.token);
      tokenOf.set(body.user.username, body.user.token);
    }
    return { status: res.status, body };
  };
  const ok = async (want: number, method: string, url: string, opts: { as?: string; body?: unknown } = {}) => {
    const res = await call(method, url, opts);
    expect(res.status, `${method} ${url}`).toBe(want);
    return res.body;
  };

  const admin = async <T>(method: string, url: string, body?: unknown): Promise<T> => {
    const res = await fetch(sidecar.adminUrl + url, {
      method,
      headers: { authorization: `Bearer ${OPERATOR}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    expect(res.status, `${method} ${url}: ${text}`).toBeLessThan(300);
    return JSON.parse(text) as T;
  };
  const status = () => admin<SidecarStatus>('GET', '/admin/status');
  const projection = async (name: string) => (await status()).projections!.find((p) => p.name === name)!;
  const caughtUp = () =>
    until(
      async () => {
        const s = await status();
        return (
          s.spool?.depth === 0 && s.projections!.length === 2 && s.projections!.every((p) => p.state === 'running' && p.lagEvents === 0)
        );
      },
      'both projections to be running with no lag',
      30_000,
    );
  /** Starts a run of one entity from the admin API and waits for it to end. */
  const reconcile = async (entity: string): Promise<RunSummary> => {
    const started = await admin<{ runs: { runId: number }[] }>('POST', '/admin/reconciliations', { entity });
    const runId = started.runs[0]!.runId;
    let run: RunSummary | undefined;
    await until(
      async () => {
        run = await admin<RunSummary>('GET', `/admin/reconciliations/${runId}`);
        return run.status !== 'queued' && run.status !== 'running';
      },
      `reconciliation run ${runId} of ${entity}`,
      60_000,
    );
    expect(run!.error).toBeNull();
    expect(run!.status).toBe('finished');
    return run!;
  };
  const captureErrors = async () => {
    const metric = sidecar.metrics.registry.getSingleMetric('strangler_capture_errors_total');
    return (await metric!.get()).values.reduce((sum, v) => sum + v.value, 0);
  };
  const legacyRows = async <T>(sql: string, params: unknown[] = []) => (await database.pool.query(sql, params))[0] as T[];
  const storeRows = async <T>(sql: string, params: unknown[] = []) => (await sidecar.store.db.query<T>(sql, params)).rows;
  /** The physical read-model table the row projection of entity `name` serves. */
  const readModelTable = async (name: string) => (await readProjection(sidecar.store.db, name))!.tables[name]!;

  const ann = `ann_${suffix}`;
  const annRenamed = `Ann_${word()}_${suffix}`;
  const bob = `bob_${suffix}`;
  const cid = `cid_${suffix}`;
  const titles = { a: `First ${word()} ${suffix}`, b: `Second ${word()} ${suffix}`, c: `Third ${word()} ${suffix}`, d: `Fourth ${suffix}` };
  const slug = (title: string) => title.toLowerCase().replaceAll(' ', '-');
  const retitled = `Renamed ${word()} ${suffix}`;

  it('a scripted session through the sidecar: 0 capture errors, one stream per row, projections caught up, reconciliation clean', async () => {
    for (const name of [ann, bob, cid]) {
      await ok(201, 'POST', '/api/users', { body: { user: { username: name, email: `${name}@example.com`, password: `pw-${name}` } } });
    }
    await ok(200, 'PUT', '/api/user', { as: ann, body: { user: { username: annRenamed, bio: `likes ${word()}` } } }); // a rename
    await ok(200, 'PUT', '/api/user', { as: bob, body: { user: { image: `https://img.example/${word()}.png` } } });
    await ok(200, 'POST', '/api/users/login', { body: { user: { email: `${cid}@example.com`, password: `pw-${cid}` } } }); // a read

    for (const title of [titles.a, titles.b, titles.c]) {
      await ok(201, 'POST', '/api/articles', {
        as: annRenamed,
        body: { article: { title, description: word(), body: `${word()} ${word()}` } },
      });
    }
    await ok(201, 'POST', '/api/articles', { as: bob, body: { article: { title: titles.d, body: word() } } });
    // A new title re-slugs the article; the next update finds it by the new slug.
    const renamed = await ok(200, 'PUT', `/api/articles/${slug(titles.a)}`, { as: annRenamed, body: { article: { title: retitled } } });
    expect(renamed.article.slug).toBe(slug(retitled));
    await ok(200, 'PUT', `/api/articles/${slug(retitled)}`, { as: annRenamed, body: { article: { body: `now ${word()}` } } });
    await ok(200, 'PUT', `/api/articles/${slug(titles.b)}`, { as: annRenamed, body: { article: { description: word() } } });
    await ok(200, 'POST', `/api/articles/${slug(retitled)}/favorite`, { as: bob });
    await ok(200, 'POST', `/api/articles/${slug(retitled)}/favorite`, { as: cid });
    await ok(200, 'DELETE', `/api/articles/${slug(retitled)}/favorite`, { as: bob });
    await ok(200, 'POST', `/api/articles/${slug(titles.d)}/favorite`, { as: cid });
    await ok(200, 'DELETE', `/api/articles/${slug(titles.d)}/favorite`, { as: cid });
    await ok(204, 'DELETE', `/api/articles/${slug(titles.c)}`, { as: annRenamed }); // a soft delete
    await ok(404, 'GET', `/api/articles/${slug(titles.c)}`);
    await ok(401, 'PUT', '/api/user', { body: { user: { bio: 'no token' } } }); // refused by legacy: no event

    expect(await captureErrors()).toBe(0);

    // One stream per legacy row, keyed by its UUID; the renamed user and the re-slugged article included.
    const users = await legacyRows<{ id: string; username: string }>('SELECT id, username FROM users ORDER BY id');
    const articles = await legacyRows<{ id: string; slug: string }>('SELECT id, slug FROM articles ORDER BY id');
    expect(users).toHaveLength(3);
    expect(articles).toHaveLength(4);
    const streams = await storeRows<{ category: string; streams: string }>(
      `SELECT split_part(stream_id, '-', 1) AS category, count(DISTINCT stream_id)::text AS streams FROM strangler_events GROUP BY 1 ORDER BY 1`,
    );
    expect(streams).toEqual([
      { category: 'article', streams: '4' },
      { category: 'user', streams: '3' },
    ]);
    const streamIds = (await storeRows<{ s: string }>('SELECT DISTINCT stream_id AS s FROM strangler_events ORDER BY 1')).map((r) => r.s);
    expect(streamIds).toEqual([...articles.map((a) => `article-${a.id}`), ...users.map((u) => `user-${u.id}`)].sort());
    const annId = users.find((u) => u.username === annRenamed)!.id;
    expect((await sidecar.store.readStream(`user-${annId}`)).map((e) => e.type)).toEqual(['UserRegistered', 'UserUpdated']);
    const retitledId = articles.find((a) => a.slug === slug(retitled))!.id;
    expect((await sidecar.store.readStream(`article-${retitledId}`)).map((e) => e.type)).toEqual([
      'ArticleCreated',
      'ArticleUpdated',
      'ArticleUpdated',
      'ArticleFavorited',
      'ArticleFavorited',
      'ArticleUnfavorited',
    ]);
    // redact: the password hash never reaches an event.
    const leaked = await storeRows(`SELECT event_id FROM strangler_events WHERE data ? 'password_hash' OR data ? 'password'`);
    expect(leaked).toEqual([]);

    await caughtUp();
    for (const entity of ['users', 'articles']) {
      const { report } = await reconcile(entity);
      expect(report, entity).toMatchObject({
        verdict: 'within_tolerance',
        mismatchRate: 0,
        differing: 0,
        missingInProjection: 0,
        extraInProjection: 0,
      });
      expect(report!.legacyRows).toBe(entity === 'users' ? 3 : 4);
      expect(report!.readModelRows).toBe(report!.legacyRows);
    }
  });

  it('the favorite DELETE kept its article in the read model, the soft delete kept its row marked deleted', async () => {
    const table = await readModelTable('articles');
    const rows = await storeRows<{ slug: string; record_status: string; favorites_count: string }>(
      `SELECT slug, record_status, favorites_count::text AS favorites_count FROM ${table} ORDER BY slug`,
    );
    expect(rows).toEqual(
      [
        { slug: slug(titles.b), record_status: 'active', favorites_count: '0' },
        { slug: slug(titles.c), record_status: 'deleted', favorites_count: '0' },
        { slug: slug(titles.d), record_status: 'active', favorites_count: '0' }, // favorited, then unfavorited
        { slug: slug(retitled), record_status: 'active', favorites_count: '1' },
      ].sort((x, y) => (x.slug < y.slug ? -1 : 1)),
    );
  });

  it('the actor is the JWT username claim, and no event metadata holds a token', async () => {
    const events = await storeRows<{ type: string; actor: string | null; m: string }>(
      `SELECT event_type AS type, metadata->>'actor' AS actor, metadata::text AS m FROM strangler_events ORDER BY global_position`,
    );
    const byType = (type: string) => events.filter((e) => e.type === type).map((e) => e.actor);
    expect(byType('UserUpdated')).toEqual([ann, bob]); // the name the token carried when the request was made
    expect(byType('ArticleCreated')).toEqual([annRenamed, annRenamed, annRenamed, bob]);
    expect(byType('ArticleFavorited')).toEqual([bob, cid, cid]);
    expect(byType('ArticleUnfavorited')).toEqual([bob, cid]);
    expect(byType('ArticleDeleted')).toEqual([annRenamed]);
    expect(tokens.length).toBeGreaterThanOrEqual(6);
    for (const { m } of events) {
      for (const token of tokens) {
        for (const part of token.split('.')) expect(m).not.toContain(part);
      }
      expect(m).not.toMatch(/Token |Bearer /);
    }
  });

  it('drift behind the service: found exactly, repaired, the next run clean, the users projection running throughout', async () => {
    const [changed, removed] = await legacyRows<{ id: string }>('SELECT id FROM articles WHERE slug IN (?, ?) ORDER BY slug = ?', [
      slug(titles.b),
      slug(titles.d),
      slug(titles.d),
    ]);
    const newTitle = `Edited in SQL ${word()}`;
    await database.pool.query('UPDATE articles SET title = ? WHERE id = ?', [newTitle, changed!.id]);
    await database.pool.query('DELETE FROM favorites WHERE article_id = ?', [removed!.id]); // its soft-deleted favorite (foreign key)
    await database.pool.query('DELETE FROM articles WHERE id = ?', [removed!.id]);

    const drift = (await reconcile('articles')).report!;
    expect(drift).toMatchObject({ verdict: 'over_tolerance', differing: 1, missingInProjection: 0, extraInProjection: 1, legacyRows: 3 });
    expect(drift.differingColumns).toEqual({ title: 1 });
    expect(drift.samples.map((s) => [s.class, s.key])).toEqual(
      expect.arrayContaining([
        ['differing', [changed!.id]],
        ['extra', [removed!.id]],
      ]),
    );
    expect(drift.samples).toHaveLength(2);

    const usersBefore = await projection('users');
    const repair = await admin<RepairSummary>('POST', `/admin/reconciliations/${drift.runId}/repair`, { apply: true });
    expect(repair).toMatchObject({ complete: true, counts: { planned: 2, appended: 2, skipped: 0 } });
    expect(repair.actions.map((a) => [a.streamId, a.event]).sort()).toEqual(
      [
        [`article-${changed!.id}`, 'StranglerRowRepaired'],
        [`article-${removed!.id}`, 'StranglerRowRemoved'],
      ].sort(),
    );

    // The users projection keeps applying while the articles one takes the corrective events.
    await ok(200, 'PUT', '/api/user', { as: cid, body: { user: { bio: `after the repair ${word()}` } } });
    await caughtUp();
    const usersAfter = await projection('users');
    const articlesAfter = await projection('articles');
    for (const p of [usersAfter, articlesAfter] as ProjectionView[]) {
      expect(p, p.name).toMatchObject({ state: 'running', status: 'running', failure: null, pause: null, lagEvents: 0 });
    }
    expect(usersAfter.position).toBeGreaterThan(usersBefore.position);
    expect(usersAfter.appliedEvents).toBeGreaterThan(usersBefore.appliedEvents);

    const table = await readModelTable('articles');
    expect(await storeRows(`SELECT title FROM ${table} WHERE slug = $1`, [slug(titles.b)])).toEqual([{ title: newTitle }]);
    expect(await storeRows(`SELECT slug FROM ${table} WHERE slug = $1`, [slug(titles.d)])).toEqual([]);

    for (const entity of ['articles', 'users']) {
      const { report } = await reconcile(entity);
      expect(report, entity).toMatchObject({ verdict: 'within_tolerance', mismatchRate: 0 });
    }
    const entities = (await status()).entities;
    expect(entities.map((e) => [e.name, e.lastReconciliation?.verdict])).toEqual([
      ['users', 'within_tolerance'],
      ['articles', 'within_tolerance'],
    ]);
    expect(await captureErrors()).toBe(0);
  });
});
