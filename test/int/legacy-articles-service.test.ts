/**
 * The sample articles service on its own, on real MariaDB: its API behaves (register, login,
 * rename, re-slug, favorites, soft delete, errors) and its schema has the traits it stands for.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  migrate,
  openDatabase,
  startLegacyArticles,
  type ArticleJson,
  type Database,
  type ProfileJson,
  type RunningLegacyArticles,
  type UserJson,
} from '../../examples/legacy-articles/index.ts';
import { createMysqlTestDb, type TestDb } from '../harness/db.ts';

interface Body {
  user: UserJson;
  article: ArticleJson;
  articles: ArticleJson[];
  articlesCount: number;
  profile: ProfileJson;
  errors: { body: string[] };
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

describe('legacy-articles on MariaDB', () => {
  let testDb: TestDb;
  let database: Database;
  let service: RunningLegacyArticles;
  const bodies: string[] = [];

  beforeAll(async () => {
    testDb = await createMysqlTestDb('legacy_articles');
    database = openDatabase(testDb.url, { connectionLimit: 4 });
    await migrate(database.db);
    await migrate(database.db); // idempotent
    service = await startLegacyArticles({ db: database.db, jwtSecret: 'test-secret' });
  });

  afterAll(async () => {
    await service?.close();
    await database?.close();
    await testDb?.drop();
  });

  const call = async (method: string, path: string, opts: { token?: string; body?: unknown } = {}) => {
    const headers: Record<string, string> = {};
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    if (opts.token) headers.authorization = `Token ${opts.token}`;
    const res = await fetch(service.url + path, {
      method,
      headers,
      ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
    });
    const text = await res.text();
    bodies.push(text);
    return { status: res.status, body: (text ? JSON.parse(text) : null) as Body };
  };
  const register = async (name: string) => {
    const res = await call('POST', '/api/users', {
      body: { user: { username: name, email: `${name}@example.com`, password: 'pw-' + name } },
    });
    expect(res.status).toBe(201);
    return res.body.user.token;
  };

  it('has CHAR(36) keys in utf8mb4_general_ci, foreign keys on them and record_status columns', async () => {
    const [columns] = await database.pool.query(
      `SELECT table_name AS t, column_name AS c, column_type AS ty, collation_name AS co FROM information_schema.columns
        WHERE table_schema = DATABASE() AND column_name IN ('id', 'author_id', 'user_id', 'article_id', 'record_status') ORDER BY t, c`,
    );
    const keys = (columns as { t: string; c: string; ty: string; co: string }[]).filter((r) => r.c !== 'record_status');
    expect(keys.map((r) => `${r.t}.${r.c}`)).toEqual([
      'articles.author_id',
      'articles.id',
      'favorites.article_id',
      'favorites.id',
      'favorites.user_id',
      'users.id',
    ]);
    for (const r of keys) expect([r.ty, r.co]).toEqual(['char(36)', 'utf8mb4_general_ci']);
    expect((columns as { c: string }[]).filter((r) => r.c === 'record_status')).toHaveLength(3);
    const [fks] = await database.pool.query(
      `SELECT table_name AS t, column_name AS c, referenced_table_name AS r FROM information_schema.key_column_usage
        WHERE table_schema = DATABASE() AND referenced_table_name IS NOT NULL ORDER BY t, c`,
    );
    expect(fks).toEqual([
      { t: 'articles', c: 'author_id', r: 'users' },
      { t: 'favorites', c: 'article_id', r: 'articles' },
      { t: 'favorites', c: 'user_id', r: 'users' },
    ]);
  });

  it('registers, logs in, answers 401 without a valid token and renames the current user', async () => {
    const token = await register('ann');
    expect((await call('GET', '/api/user')).status).toBe(401);
    expect(await call('GET', '/api/user', { token: token.slice(0, -2) + 'xx' })).toEqual({
      status: 401,
      body: { errors: { body: ['missing or invalid token'] } },
    });
    const login = await call('POST', '/api/users/login', { body: { user: { email: 'ann@example.com', password: 'pw-ann' } } });
    expect(login.status).toBe(200);
    expect(login.body.user).toMatchObject({ username: 'ann', email: 'ann@example.com', bio: null, image: null });
    expect((await call('POST', '/api/users/login', { body: { user: { email: 'ann@example.com', password: 'nope' } } })).status).toBe(422);
    expect((await call('POST', '/api/users', { body: { user: { username: 'ANN', email: 'x@example.com', password: 'p' } } })).body).toEqual(
      {
        errors: { body: ['username has already been taken'] }, // utf8mb4_general_ci: ANN is ann
      },
    );

    const bearer = await fetch(`${service.url}/api/user`, { headers: { authorization: `Bearer ${token}` } }); // the other spelling
    expect([bearer.status, ((await bearer.json()) as Body).user.username]).toEqual([200, 'ann']);

    const renamed = await call('PUT', '/api/user', { token, body: { user: { username: 'ann2', bio: 'hello' } } });
    expect(renamed.status).toBe(200);
    expect(renamed.body.user).toMatchObject({ username: 'ann2', bio: 'hello' });
    expect((await call('GET', '/api/user', { token })).status).toBe(401); // the old token names the old username
    expect((await call('GET', '/api/user', { token: renamed.body.user.token })).body.user.username).toBe('ann2');
    expect((await call('GET', '/api/profiles/ann')).status).toBe(404);
    expect((await call('GET', '/api/profiles/ann2')).body).toEqual({
      profile: { username: 'ann2', bio: 'hello', image: null, following: false },
    });
  });

  it('re-slugs on a new title, counts favorites, soft-deletes (404 after) and pages the list', async () => {
    const bob = await register('bob');
    const cid = await register('cid');
    const created = await call('POST', '/api/articles', {
      token: bob,
      body: { article: { title: 'How to Train', description: 'd', body: 'b' } },
    });
    expect(created.status).toBe(201);
    expect(created.body.article).toMatchObject({ slug: 'how-to-train', favoritesCount: 0, author: { username: 'bob' } });
    expect((await call('POST', '/api/articles', { body: { article: { title: 'x', body: 'y' } } })).status).toBe(401);
    expect((await call('POST', '/api/articles', { token: bob, body: { article: { title: '' } } })).body).toEqual({
      errors: { body: ["title can't be blank"] },
    });

    const updated = await call('PUT', '/api/articles/how-to-train', { token: bob, body: { article: { title: 'How to Train Dragons' } } });
    expect(updated.body.article).toMatchObject({ slug: 'how-to-train-dragons', title: 'How to Train Dragons', body: 'b' });
    expect((await call('GET', '/api/articles/how-to-train')).status).toBe(404);
    expect((await call('PUT', '/api/articles/how-to-train-dragons', { token: cid, body: { article: { body: 'mine' } } })).status).toBe(403);

    const fav = await call('POST', '/api/articles/how-to-train-dragons/favorite', { token: cid });
    expect(fav.body.article).toMatchObject({ favorited: true, favoritesCount: 1 });
    expect((await call('POST', '/api/articles/how-to-train-dragons/favorite', { token: cid })).body.article.favoritesCount).toBe(1);
    const unfav = await call('DELETE', '/api/articles/how-to-train-dragons/favorite', { token: cid });
    expect(unfav.body.article).toMatchObject({ favorited: false, favoritesCount: 0 });
    expect((await call('POST', '/api/articles/how-to-train-dragons/favorite', { token: cid })).body.article.favoritesCount).toBe(1);

    await call('POST', '/api/articles', { token: bob, body: { article: { title: 'Second', body: 'b' } } });
    const list = await call('GET', '/api/articles?limit=1&offset=1');
    expect(list.body.articlesCount).toBe(2);
    expect(list.body.articles.map((a) => a.slug)).toHaveLength(1);
    expect((await call('GET', '/api/articles?limit=-1')).status).toBe(422);

    expect((await call('DELETE', '/api/articles/second', { token: cid })).status).toBe(403);
    expect((await call('DELETE', '/api/articles/second', { token: bob })).status).toBe(204);
    expect((await call('GET', '/api/articles/second')).status).toBe(404);
    expect((await call('DELETE', '/api/articles/second', { token: bob })).status).toBe(404);
    expect((await call('GET', '/api/articles')).body.articlesCount).toBe(1);
    const [rows] = await database.pool.query(`SELECT record_status FROM articles WHERE slug = ?`, ['second']);
    expect(rows).toEqual([{ record_status: 'deleted' }]); // soft: the row stays

    expect((await call('GET', '/api/nothing')).body).toEqual({ errors: { body: ['no route for GET /api/nothing'] } });
  });

  it('never shows a row key: no UUID in any body it answered', () => {
    expect(bodies.length).toBeGreaterThan(20);
    for (const text of bodies) expect(text).not.toMatch(UUID);
  });
});
