import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import { checkPassword, hashPassword, signToken, tokenFromHeader, verifyToken } from './auth.ts';
import type { Db } from './db.ts';
import { HttpError, errorHandler, notFound, notFoundHandler, unauthorized, unprocessable } from './errors.ts';
import {
  ACTIVE,
  DELETED,
  liveArticleBySlug,
  liveUserByName,
  newId,
  toArticleJson,
  toProfileJson,
  toUserJson,
  type ArticleRow,
  type FavoriteRow,
  type UserRow,
} from './repository.ts';
import { email, envelope, optionalString, page, requiredString, slugify, username } from './validation.ts';

export interface LegacyArticlesOptions {
  /** The query builder over the service's MariaDB/MySQL database (openDatabase), already migrated. */
  db: Db;
  /** The HS256 signing key of the tokens the service issues. */
  jwtSecret: string;
  /** Token lifetime; default 24 h. */
  tokenTtlSeconds?: number;
  /** Default: the system clock. */
  now?: () => Date;
  /** Unexpected errors (answered with 500). Default: printed to stderr. */
  onError?: (err: unknown) => void;
}

interface Authed {
  user?: UserRow;
}

/** 'YYYY-MM-DD HH:MM:SS.mmm', UTC, for DATETIME(3). */
const dbTime = (d: Date) => d.toISOString().slice(0, 23).replace('T', ' ');

/**
 * The sample third-party service: a RealWorld ("Conduit") style blogging API over `users`,
 * `articles` and `favorites`. Rows have UUID keys that never leave the database; routes name
 * users by username (or by the token) and articles by slug, and bodies come in envelopes.
 */
export function createLegacyArticlesApp(opts: LegacyArticlesOptions): express.Express {
  const { db, jwtSecret } = opts;
  const ttl = opts.tokenTtlSeconds ?? 24 * 3600;
  const clock = opts.now ?? (() => new Date());
  const onError = opts.onError ?? ((err: unknown) => console.error('[legacy-articles] unexpected error', err));
  const seconds = () => Math.floor(clock().getTime() / 1000);
  const issue = (name: string) => signToken(jwtSecret, name, seconds(), ttl);

  /** Reads the token when there is one; `required` answers 401 without a valid one. */
  const auth =
    (required: boolean) =>
    async (req: Request, res: Response, next: NextFunction): Promise<void> => {
      const token = tokenFromHeader(req.headers.authorization);
      const claims = token ? verifyToken(jwtSecret, token, seconds()) : null;
      const user = claims ? await liveUserByName(db, claims.username) : undefined;
      if (required && !user) throw unauthorized();
      (res.locals as Authed).user = user;
      next();
    };
  const current = (res: Response) => (res.locals as Authed).user;
  const me = (res: Response) => current(res)!;

  /** Locks the live article (FOR UPDATE) and checks the caller may change it. */
  const lockOwnArticle = async (trx: Db, slug: string, user: UserRow): Promise<ArticleRow> => {
    const article = await trx<ArticleRow>('articles').where({ slug }).whereNot({ record_status: DELETED }).forUpdate().first();
    if (!article) throw notFound('article');
    if (article.author_id !== user.id) throw new HttpError(403, 'only the author may change this article');
    return article;
  };

  const app = express();
  const json = express.json({ limit: '1mb' });

  app.get('/health', async (_req, res) => {
    await db.raw('SELECT 1');
    res.type('text/plain').send('ok');
  });

  app.post('/api/users', json, async (req, res) => {
    const fields = envelope(req.body, 'user');
    const name = username(requiredString(fields, 'username', 64));
    const mail = email(requiredString(fields, 'email', 255));
    const password = requiredString(fields, 'password', 200);
    if (await db('users').where({ username: name }).first()) throw unprocessable('username has already been taken');
    if (await db('users').where({ email: mail }).first()) throw unprocessable('email has already been taken');
    const now = dbTime(clock());
    const row = { id: newId(), username: name, email: mail, password_hash: await hashPassword(password), bio: null, image: null };
    await db<UserRow>('users').insert({ ...row, record_status: ACTIVE, created_at: now, updated_at: now });
    const user = (await db<UserRow>('users').where({ id: row.id }).first())!;
    res.status(201).json({ user: toUserJson(user, issue(user.username)) });
  });

  app.post('/api/users/login', json, async (req, res) => {
    const fields = envelope(req.body, 'user');
    const mail = email(requiredString(fields, 'email', 255));
    const password = requiredString(fields, 'password', 200);
    const user = await db<UserRow>('users').where({ email: mail }).whereNot({ record_status: DELETED }).first();
    if (!user || !(await checkPassword(password, user.password_hash))) throw unprocessable('email or password is invalid');
    res.json({ user: toUserJson(user, issue(user.username)) });
  });

  app.get('/api/user', auth(true), (req, res) => {
    res.json({ user: toUserJson(me(res), tokenFromHeader(req.headers.authorization)!) });
  });

  // The username may change: the answer carries a token for the new name (the old one stops working).
  app.put('/api/user', auth(true), json, async (req, res) => {
    const fields = envelope(req.body, 'user');
    const changes: Partial<UserRow> = {};
    const newName = optionalString(fields, 'username', 64);
    if (newName !== undefined && newName !== null) changes.username = username(newName.trim());
    const newEmail = optionalString(fields, 'email', 255);
    if (newEmail !== undefined && newEmail !== null) changes.email = email(newEmail.trim());
    const bio = optionalString(fields, 'bio', 5000, true);
    if (bio !== undefined) changes.bio = bio;
    const image = optionalString(fields, 'image', 500, true);
    if (image !== undefined) changes.image = image;
    const password = optionalString(fields, 'password', 200);
    if (password) changes.password_hash = await hashPassword(password);
    const { id } = me(res);
    const user = await db.transaction(async (trx) => {
      if (changes.username !== undefined) {
        const taken = await trx<UserRow>('users').where({ username: changes.username }).whereNot({ id }).first();
        if (taken) throw unprocessable('username has already been taken');
      }
      if (changes.email !== undefined) {
        const taken = await trx<UserRow>('users').where({ email: changes.email }).whereNot({ id }).first();
        if (taken) throw unprocessable('email has already been taken');
      }
      await trx<UserRow>('users')
        .where({ id })
        .update({ ...changes, updated_at: dbTime(clock()) });
      return (await trx<UserRow>('users').where({ id }).first())!;
    });
    res.json({ user: toUserJson(user, issue(user.username)) });
  });

  app.get('/api/profiles/:username', async (req, res) => {
    const user = await liveUserByName(db, req.params.username);
    if (!user) throw notFound('profile');
    res.json({ profile: toProfileJson(user) });
  });

  app.get('/api/articles', auth(false), async (req, res) => {
    const { limit, offset } = page(req.query);
    const live = () => db<ArticleRow>('articles').whereNot({ record_status: DELETED });
    const rows = await live().orderBy('created_at', 'desc').orderBy('slug').limit(limit).offset(offset).select();
    const articles = [];
    for (const row of rows) articles.push(await toArticleJson(db, row, current(res)));
    res.json({ articles, articlesCount: await live().count() });
  });

  app.post('/api/articles', auth(true), json, async (req, res) => {
    const fields = envelope(req.body, 'article');
    const title = requiredString(fields, 'title', 255);
    const description = optionalString(fields, 'description', 500) ?? '';
    const body = requiredString(fields, 'body', 100_000);
    const slug = slugify(title);
    if (await db('articles').where({ slug }).first()) throw unprocessable('title has already been taken');
    const now = dbTime(clock());
    const id = newId();
    await db<ArticleRow>('articles').insert({
      id,
      slug,
      title,
      description,
      body,
      author_id: me(res).id,
      favorites_count: 0,
      record_status: ACTIVE,
      created_at: now,
      updated_at: now,
    });
    const article = (await db<ArticleRow>('articles').where({ id }).first())!;
    res.status(201).json({ article: await toArticleJson(db, article, me(res)) });
  });

  app.get('/api/articles/:slug', auth(false), async (req, res) => {
    const article = await liveArticleBySlug(db, slugOf(req));
    if (!article) throw notFound('article');
    res.json({ article: await toArticleJson(db, article, current(res)) });
  });

  // A new title re-slugs the article: the answer carries the new slug, the old one is gone.
  app.put('/api/articles/:slug', auth(true), json, async (req, res) => {
    const fields = envelope(req.body, 'article');
    const changes: Partial<ArticleRow> = {};
    const title = optionalString(fields, 'title', 255);
    if (title !== undefined && title !== null) {
      if (!title.trim()) throw unprocessable("title can't be blank");
      changes.title = title.trim();
    }
    const description = optionalString(fields, 'description', 500);
    if (description !== undefined && description !== null) changes.description = description;
    const body = optionalString(fields, 'body', 100_000);
    if (body !== undefined && body !== null) changes.body = body;
    const article = await db.transaction(async (trx) => {
      const row = await lockOwnArticle(trx, slugOf(req), me(res));
      if (changes.title !== undefined && changes.title !== row.title) {
        changes.slug = slugify(changes.title);
        const taken = await trx<ArticleRow>('articles').where({ slug: changes.slug }).whereNot({ id: row.id }).first();
        if (taken) throw unprocessable('title has already been taken');
      }
      await trx<ArticleRow>('articles')
        .where({ id: row.id })
        .update({ ...changes, updated_at: dbTime(clock()) });
      return (await trx<ArticleRow>('articles').where({ id: row.id }).first())!;
    });
    res.json({ article: await toArticleJson(db, article, me(res)) });
  });

  // A soft delete: the row stays, marked deleted, and the slug answers 404 from now on.
  app.delete('/api/articles/:slug', auth(true), async (req, res) => {
    await db.transaction(async (trx) => {
      const row = await lockOwnArticle(trx, slugOf(req), me(res));
      await trx<ArticleRow>('articles')
        .where({ id: row.id })
        .update({ record_status: DELETED, updated_at: dbTime(clock()) });
    });
    res.status(204).end();
  });

  /** Favorites are a sub-resource: a favorites row (revived or soft-deleted) and the article's favorites_count. */
  const setFavorite = (slug: string, user: UserRow, on: boolean) =>
    db.transaction(async (trx) => {
      const article = await trx<ArticleRow>('articles').where({ slug }).whereNot({ record_status: DELETED }).forUpdate().first();
      if (!article) throw notFound('article');
      const favorite = await trx<FavoriteRow>('favorites').where({ user_id: user.id, article_id: article.id }).first();
      const was = favorite?.record_status === ACTIVE;
      if (was === on) return article;
      const now = dbTime(clock());
      const status = on ? ACTIVE : DELETED;
      if (favorite) await trx<FavoriteRow>('favorites').where({ id: favorite.id }).update({ record_status: status, updated_at: now });
      else {
        await trx<FavoriteRow>('favorites').insert({
          id: newId(),
          user_id: user.id,
          article_id: article.id,
          record_status: status,
          created_at: now,
          updated_at: now,
        });
      }
      await trx<ArticleRow>('articles')
        .where({ id: article.id })
        .increment('favorites_count', on ? 1 : -1);
      return (await trx<ArticleRow>('articles').where({ id: article.id }).first())!;
    });

  app.post('/api/articles/:slug/favorite', auth(true), async (req, res) => {
    const article = await setFavorite(slugOf(req), me(res), true);
    res.json({ article: await toArticleJson(db, article, me(res)) });
  });

  app.delete('/api/articles/:slug/favorite', auth(true), async (req, res) => {
    const article = await setFavorite(slugOf(req), me(res), false);
    res.json({ article: await toArticleJson(db, article, me(res)) });
  });

  app.use(notFoundHandler);
  app.use(errorHandler(onError));
  return app;
}

/** The `:slug` route parameter (express types it loosely once a middleware sits before the handler). */
function slugOf(req: Request): string {
  return String(req.params.slug);
}
