/**
 * Envelopes and the actor, through the real proxy and event writer: a small real HTTP
 * upstream that wraps every body in `{"article": {...}}` (as many Express services do) and
 * authenticates with a JWT; events go to a real PostgreSQL event store.
 */
import fsp from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/logging/logger.ts';
import { startSidecar, type Sidecar } from '../../src/sidecar.ts';
import { createPgTestDb, type TestDb } from '../harness/db.ts';
import { metricValue } from '../helpers/metrics.ts';

const SPEC = `
legacy: { upstream: "http://127.0.0.1:1" }
server: { actor: { jwtClaim: username } }
entities:
  articles:
    stream: "article-{id}"
    commands:
      - { route: "POST /api/articles",       event: ArticleCreated, id: "$.article.slug", capture: response, root: $.article }
      - { route: "PUT /api/articles/:id",    event: ArticleUpdated, capture: request, root: $.article, data: [title, body] }
      - { route: "POST /api/articles/:id/tags", event: ArticleTagged, capture: response, data: [article.tagList] }
`;

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const TOKEN = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ username: 'ann', id: 7 })}.c2lnbmF0dXJlLW5vdC1jaGVja2Vk`;

/** The upstream: answers every command `{"article": {...}}`, except a tag on `broken`, whose envelope is renamed. */
function startArticles(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.once('end', () => {
      const sent = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { article?: Record<string, unknown> }) : {};
      const slug =
        req.url!.split('/')[3] ??
        String(sent.article?.title ?? '')
          .toLowerCase()
          .replaceAll(' ', '-');
      const article = { slug, ...sent.article, tagList: ['a', 'b'], author: { username: 'ann' } };
      const answer = JSON.stringify(slug === 'broken' ? { post: article } : { article });
      res.writeHead(req.method === 'POST' && !req.url!.endsWith('/tags') ? 201 : 200, { 'content-type': 'application/json' });
      res.end(answer);
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

describe('envelopes and the JWT actor through the proxy (PostgreSQL event store)', () => {
  let storeDb: TestDb;
  let upstream: Awaited<ReturnType<typeof startArticles>>;
  let sidecar: Sidecar;
  let spoolDir: string;
  const logLines: string[] = [];

  beforeAll(async () => {
    storeDb = await createPgTestDb('envelopes');
    upstream = await startArticles();
    spoolDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'strangler-envelopes-'));
    const config = loadConfig({ text: SPEC, env: {} });
    Object.assign(config.legacy, { upstream: upstream.url });
    Object.assign(config.server, { host: '127.0.0.1', port: 0 });
    Object.assign(config.admin, { host: '127.0.0.1', port: 0 });
    config.eventStore.url = storeDb.url;
    config.eventStore.spool.path = spoolDir;
    config.eventStore.appendTimeoutMs = 10_000; // the event is in the store when the client has its answer
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        logLines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    sidecar = await startSidecar({
      config,
      logger: createLogger({ level: 'info', destination }),
      spoolFsync: false,
      projections: false,
      schedule: false,
    });
  }, 60_000);

  afterAll(async () => {
    await sidecar?.stop();
    await upstream?.close();
    await storeDb?.drop();
    if (spoolDir) await fsp.rm(spoolDir, { recursive: true, force: true });
  });

  const send = async (method: string, url: string, body?: unknown) => {
    const res = await fetch(`${sidecar.publicUrl}${url}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}`, cookie: 'sid=s3cr3t-session' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as unknown };
  };

  it('data comes from inside the envelope, the actor from the JWT claim, and no metadata holds the token', async () => {
    expect((await send('POST', '/api/articles', { article: { title: 'How to', body: 'First' } })).status).toBe(201);
    expect((await send('PUT', '/api/articles/how-to', { article: { title: 'How to, again', body: 'Second', draft: true } })).status).toBe(
      200,
    );
    expect((await send('POST', '/api/articles/how-to/tags', {})).status).toBe(200);

    const events = await sidecar.store.readStream('article-how-to');
    expect(events.map((e) => [e.type, e.data])).toEqual([
      ['ArticleCreated', { slug: 'how-to', title: 'How to', body: 'First', tagList: ['a', 'b'], author: { username: 'ann' } }],
      ['ArticleUpdated', { title: 'How to, again', body: 'Second' }],
      ['ArticleTagged', { tagList: ['a', 'b'] }],
    ]);
    expect(events.map((e) => e.metadata.actor)).toEqual(['ann', 'ann', 'ann']);
    const stored = await sidecar.store.db.query<{ m: string }>('SELECT metadata::text AS m FROM strangler_events');
    expect(stored.rows).toHaveLength(3);
    for (const { m } of stored.rows) {
      expect(m).not.toContain(TOKEN.split('.')[1]);
      expect(m).not.toContain('Bearer');
      expect(m).not.toContain('s3cr3t');
    }
  });

  it("a capture whose data comes out empty appends nothing, is counted as empty_data and logged with its route; the client gets legacy's answer", async () => {
    const before = await metricValue(sidecar.metrics.registry, 'strangler_capture_errors_total', {
      entity: 'articles',
      reason: 'empty_data',
    });
    const answer = await send('POST', '/api/articles/broken/tags', {});
    expect(answer).toEqual({ status: 200, body: { post: { slug: 'broken', tagList: ['a', 'b'], author: { username: 'ann' } } } });
    expect(await sidecar.store.readStream('article-broken')).toEqual([]);
    expect(
      await metricValue(sidecar.metrics.registry, 'strangler_capture_errors_total', { entity: 'articles', reason: 'empty_data' }),
    ).toBe(before + 1);
    const logged = logLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.reason === 'empty_data');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ entity: 'articles', route: 'POST /api/articles/:id/tags' });
    expect(String(logged[0]!.detail)).toContain('article.tagList');
  });
});
