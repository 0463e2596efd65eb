/**
 * A small legacy service of the kind issue 11 describes, on a real database: table keys (a
 * UUID for articles, an integer for users) never appear in its API; routes carry the slug or
 * name the current user (`x-user` header); bodies are wrapped (`{"article": {...}}`); a new
 * title re-slugs the article; DELETE is a hard delete and answers 204 even for a slug that
 * does not exist. `x-delay-ms` holds the answer back after the write is applied.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Executor } from '../../src/db/executor.ts';

export const slugify = (title: string) =>
  title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');

export interface Conduit {
  url: string;
  close(): Promise<void>;
}

export function startConduit(db: Executor): Promise<Conduit> {
  // `?` placeholders, numbered for PostgreSQL.
  const q = <R = Record<string, unknown>>(sql: string, params: unknown[]) => {
    let n = 0;
    return db.query<R>(db.dialect === 'mysql' ? sql : sql.replace(/\?/g, () => `$${++n}`), params);
  };
  type Article = { slug: string; title: string; body: string | null };
  const article = async (slug: string) => (await q<Article>('SELECT slug, title, body FROM articles WHERE slug = ?', [slug])).rows[0];

  async function handle(req: http.IncomingMessage, sent: Record<string, Record<string, unknown> | undefined>) {
    const [, , collection, slug] = decodeURI(req.url!.split('?')[0]!).split('/');
    const a = sent.article ?? {};
    if (collection === 'articles' && req.method === 'POST' && slug === undefined) {
      const title = String(a.title);
      await q('INSERT INTO articles (id, slug, title, body) VALUES (?, ?, ?, ?)', [randomUUID(), slugify(title), title, a.body ?? null]);
      return { status: 201, body: { article: await article(slugify(title)) } };
    }
    if (collection === 'articles' && (req.method === 'PUT' || req.method === 'PATCH') && slug !== undefined) {
      const before = await article(slug);
      if (!before) return { status: 404, body: { errors: { article: ['not found'] } } };
      const title = a.title === undefined ? before.title : String(a.title);
      const body = a.body === undefined ? before.body : String(a.body);
      await q('UPDATE articles SET slug = ?, title = ?, body = ? WHERE slug = ?', [slugify(title), title, body, slug]);
      return { status: 200, body: { article: await article(slugify(title)) } };
    }
    if (collection === 'articles' && req.method === 'DELETE' && slug !== undefined) {
      await q('DELETE FROM articles WHERE slug = ?', [slug]);
      return { status: 204, body: undefined };
    }
    if (collection === 'user' && req.method === 'PUT') {
      const username = String(req.headers['x-user']);
      await q('UPDATE users SET bio = ? WHERE username = ?', [sent.user?.bio ?? null, username]);
      return { status: 200, body: { user: { username, bio: sent.user?.bio ?? null } } };
    }
    return { status: 404, body: { errors: { route: ['no such route'] } } };
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.once('end', () => {
      const sent = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, Record<string, unknown>>) : {};
      handle(req, sent).then(
        async (answer) => {
          const delay = Number(req.headers['x-delay-ms'] ?? 0);
          if (delay > 0) await new Promise((r) => setTimeout(r, delay));
          res.writeHead(answer.status, { 'content-type': 'application/json', 'x-legacy': 'conduit' });
          res.end(answer.body === undefined ? undefined : JSON.stringify(answer.body));
        },
        (err: Error) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(err.message);
        },
      );
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      }),
    ),
  );
}
