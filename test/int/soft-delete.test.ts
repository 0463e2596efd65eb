/**
 * Soft deletes and sub-resource DELETEs through the sidecar: a real HTTP upstream that keeps
 * its articles in MariaDB (a favorite is a counter; a delete sets record_status), the row
 * projection building the read model in PostgreSQL. A favorite/unfavorite DELETE on
 * `/api/articles/:id/favorite` leaves the row in the read model, re-read from legacy; the
 * article's own DELETE keeps the row with record_status = deleted. Without a legacy
 * database the same commands capture their request: the row stays, the soft delete sets its
 * column from the config.
 */
import fsp from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { createPgExecutor } from '../../src/db/pgExecutor.ts';
import { createMysqlExecutor } from '../../src/db/mysqlExecutor.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { readProjection } from '../../src/projections/runner/projectionRow.ts';
import { startSidecar, type Sidecar } from '../../src/sidecar.ts';
import { until } from '../e2e/fixtures/wait.ts';
import { createMysqlTestDb, createPgTestDb, type TestDb } from '../harness/db.ts';
import { seededRandom } from '../helpers/seed.ts';

const spec = (legacyDbUrl: string | null) => `
legacy: { upstream: "http://127.0.0.1:1"${legacyDbUrl ? `, database: { url: "${legacyDbUrl}" }` : ''} }
entities:
  articles:
    softDelete: { column: record_status, value: deleted }
    commands:
      - { route: "POST /api/articles", event: ArticleCreated, id: "$.id", capture: response }
      - { route: "POST /api/articles/:id/favorite", event: ArticleFavorited, capture: response }
      - { route: "DELETE /api/articles/:id/favorite", event: ArticleUnfavorited }
      - { route: "DELETE /api/articles/:id", event: ArticleDeleted }
    reconcile: { columns: [id, title, favorites_count, record_status] }
`;

type Legacy = ReturnType<typeof createMysqlExecutor>;
type Article = { id: string; title: string; favorites_count: number; record_status: string };

/** The upstream service: articles in MariaDB, favorites as a counter, soft deletes. */
function startArticles(db: Legacy): Promise<{ url: string; close(): Promise<void> }> {
  const read = async (id: string) =>
    (await db.query<Article>('SELECT id, title, favorites_count, record_status FROM articles WHERE id = ?', [id])).rows[0];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.once('end', () => {
      void (async () => {
        const [, , , id, sub] = req.url!.split('/');
        const answer = (status: number, body?: unknown) => {
          res.writeHead(status, body === undefined ? {} : { 'content-type': 'application/json' });
          res.end(body === undefined ? undefined : JSON.stringify(body));
        };
        if (req.method === 'POST' && id === undefined) {
          const { id: newId, title } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id: string; title: string };
          await db.query(`INSERT INTO articles (id, title, favorites_count, record_status) VALUES (?, ?, 0, 'live')`, [newId, title]);
          return answer(201, await read(newId));
        }
        if (!(await read(id!))) return answer(404, { error: 'not found' });
        if (sub === 'favorite') {
          const step = req.method === 'POST' ? 1 : -1;
          await db.query('UPDATE articles SET favorites_count = favorites_count + ? WHERE id = ?', [step, id]);
          return answer(200, await read(id!));
        }
        await db.query(`UPDATE articles SET record_status = 'deleted' WHERE id = ?`, [id]);
        return answer(204);
      })().catch((err: Error) => {
        res.writeHead(500);
        res.end(err.message);
      });
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () => new Promise<void>((r) => server.close(() => r())),
      }),
    ),
  );
}

for (const withLegacyDb of [true, false]) {
  describe(`soft and sub-resource deletes through the sidecar, ${withLegacyDb ? 'with' : 'without'} a legacy database`, () => {
    let legacyDb: TestDb;
    let storeDb: TestDb;
    let legacy: Legacy;
    let upstream: Awaited<ReturnType<typeof startArticles>>;
    let sidecar: Sidecar;
    let spoolDir: string;
    const rand = seededRandom(`soft deletes (${withLegacyDb ? 'legacy db' : 'no legacy db'})`);
    const ids = Array.from({ length: 3 }, (_, i) => `art-${i}-${rand.int(0, 1e9).toString(36)}`);

    beforeAll(async () => {
      [legacyDb, storeDb] = await Promise.all([createMysqlTestDb('softdel'), createPgTestDb('softdel')]);
      legacy = createMysqlExecutor({ url: legacyDb.url, max: 2 });
      await legacy.exec(
        `CREATE TABLE articles (id varchar(40) PRIMARY KEY, title varchar(100) NOT NULL, favorites_count int NOT NULL, record_status varchar(10) NULL)`,
      );
      upstream = await startArticles(legacy);
      // Without a legacy database the row projection cannot read the legacy columns to create its
      // table: the team creates the read-model table, as the README says.
      if (!withLegacyDb) {
        const rm = createPgExecutor({ url: storeDb.url, max: 1 });
        await rm.exec(
          'CREATE TABLE articles (id varchar(40) PRIMARY KEY, title varchar(100) NOT NULL, favorites_count int NOT NULL, record_status varchar(10) NULL)',
        );
        await rm.close();
      }
      spoolDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'strangler-softdel-'));
      const config = loadConfig({ text: spec(withLegacyDb ? legacyDb.url : null), env: {} });
      Object.assign(config.legacy, { upstream: upstream.url });
      Object.assign(config.server, { host: '127.0.0.1', port: 0 });
      Object.assign(config.admin, { host: '127.0.0.1', port: 0 });
      config.eventStore.url = storeDb.url;
      config.eventStore.spool.path = spoolDir;
      config.eventStore.appendTimeoutMs = 10_000; // the event is in the store when the client has its answer
      sidecar = await startSidecar({ config, logger: silentLogger(), spoolFsync: false, schedule: false });
    }, 60_000);

    afterAll(async () => {
      await sidecar?.stop();
      await upstream?.close();
      await legacy?.close();
      await Promise.all([legacyDb?.drop(), storeDb?.drop()]);
      if (spoolDir) await fsp.rm(spoolDir, { recursive: true, force: true });
    });

    const send = async (method: string, url: string, body?: unknown) => {
      const res = await fetch(`${sidecar.publicUrl}${url}`, {
        method,
        headers: { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      await res.arrayBuffer();
      return res.status;
    };

    /** The read model's rows once the projection has applied every event so far. */
    async function readModel(): Promise<Record<string, Article>> {
      const head = await sidecar.store.headPosition();
      await until(
        async () => ((await readProjection(sidecar.store.db, 'articles'))?.checkpoint.position ?? -1n) >= head,
        'the projection to catch up',
        20_000,
      );
      const { rows } = await sidecar.store.db.query<Article>(
        'SELECT id, title, favorites_count::int AS favorites_count, record_status FROM articles ORDER BY id',
      );
      return Object.fromEntries(rows.map((r) => [r.id, r]));
    }

    it('an unfavorite (DELETE on a sub-resource) leaves the row in the read model', async () => {
      for (const id of ids) expect(await send('POST', '/api/articles', { id, title: `Title ${id}` })).toBe(201);
      expect(await send('POST', `/api/articles/${ids[0]}/favorite`)).toBe(200);
      expect(await send('POST', `/api/articles/${ids[0]}/favorite`)).toBe(200);
      expect(await send('DELETE', `/api/articles/${ids[0]}/favorite`)).toBe(200);

      const events = await sidecar.store.readStream(`articles-${ids[0]}`);
      expect(events.map((e) => [e.type, e.metadata.capture])).toEqual([
        ['ArticleCreated', 'response'],
        ['ArticleFavorited', 'response'],
        ['ArticleFavorited', 'response'],
        ['ArticleUnfavorited', withLegacyDb ? 'row' : 'request'],
      ]);
      const rows = await readModel();
      expect(Object.keys(rows).sort()).toEqual([...ids].sort());
      // With a legacy database the unfavorite re-read the row (1 favorite left); without one it changed nothing.
      expect(rows[ids[0]!]).toEqual({ id: ids[0], title: `Title ${ids[0]}`, favorites_count: withLegacyDb ? 1 : 2, record_status: 'live' });
    });

    it("the article's own DELETE is a soft delete: the row stays with record_status = deleted", async () => {
      expect(await send('DELETE', `/api/articles/${ids[1]}`)).toBe(204);
      const [, deleted] = await sidecar.store.readStream(`articles-${ids[1]}`);
      expect(deleted).toMatchObject({ type: 'ArticleDeleted', metadata: { capture: withLegacyDb ? 'row' : 'request' } });
      expect(deleted!.data).toMatchObject({ record_status: 'deleted' });
      const rows = await readModel();
      expect(rows[ids[1]!]).toEqual({ id: ids[1], title: `Title ${ids[1]}`, favorites_count: 0, record_status: 'deleted' });
      expect(rows[ids[2]!]).toMatchObject({ record_status: 'live' });
      const legacyRow = (await legacy.query<Article>('SELECT record_status FROM articles WHERE id = ?', [ids[1]])).rows[0];
      expect(legacyRow).toEqual({ record_status: 'deleted' });
    });
  });
}
