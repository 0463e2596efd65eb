/**
 * buildEvents with `lookup`, against a real (embedded) PostgreSQL table: the stream id is the
 * row's key, the value from the response or the request, and every way a lookup can fail is
 * a capture error with a reason and a detail that names the value.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEvents, type CaptureInput } from '../../src/capture/buildEvents.ts';
import { createLegacyLookupReader, createLegacyRowReader } from '../../src/capture/legacyRow.ts';
import { loadConfig } from '../../src/config/index.ts';
import type { Executor } from '../../src/db/executor.ts';
import { createPgliteExecutor } from '../../src/db/pgliteExecutor.ts';

const SPEC = loadConfig({
  text: `
legacy: { upstream: "http://127.0.0.1:3000", database: { url: "postgres://app@127.0.0.1:5432/conduit" } }
entities:
  articles:
    stream: "article-{id}"
    legacy: { table: articles, key: id }
    commands:
      - { route: "POST /api/articles", event: ArticleCreated, capture: row, lookup: { column: slug, response: "$.article.slug" } }
      - { route: "POST /api/drafts", event: DraftCreated, capture: request, root: $.article, lookup: { column: slug, request: "article.slug" } }
      - { route: "DELETE /api/articles/:slug", event: ArticleDeleted, lookup: { column: slug, param: slug } }
      - { route: "PUT /api/articles/by-number/:n", event: ArticleNumbered, capture: row, lookup: { column: number, param: n } }
`,
  env: {},
});
const entityConfig = SPEC.entities.articles!;
const A = '0b7e5b1e-8f0c-4d47-9a53-1f6a3c2f7d11';
const B = '6c1f7a0e-2b9d-4c36-8e41-77d0b9c5a2e4';
const body = (v: unknown) => Buffer.from(JSON.stringify(v));

let db: Executor;
beforeAll(async () => {
  db = await createPgliteExecutor({});
  // No unique constraint on slug: a legacy table may lack one, and the lookup must notice.
  await db.exec(`CREATE TABLE articles (id uuid PRIMARY KEY, slug text NOT NULL, number integer, title text);
    INSERT INTO articles VALUES ('${A}', 'how-to', 7, 'How to'), ('${B}', 'twice', 8, 'One'), (gen_random_uuid(), 'twice', 9, 'Two');`);
}, 60_000); // PGlite's WASM start-up is slow on a busy machine
afterAll(async () => {
  await db?.close();
});

function input(route: string, over: Partial<CaptureInput>): CaptureInput {
  return {
    entity: 'articles',
    entityConfig,
    command: entityConfig.commands.find((c) => c.route === route)!,
    params: {},
    method: route.split(' ')[0]!,
    path: '/api/articles',
    requestId: 'req-1',
    requestHeaders: {},
    requestBody: Buffer.alloc(0),
    responseStatus: 200,
    responseBody: Buffer.alloc(0),
    actorHeader: 'x-user-id',
    readRow: createLegacyRowReader(db),
    lookupRow: createLegacyLookupReader(db),
    ...over,
  };
}

describe('lookup in buildEvents (PGlite)', () => {
  it('a response lookup: the stream is the row key, the data the row found', async () => {
    const r = await buildEvents(input('POST /api/articles', { responseBody: body({ article: { slug: 'how-to' } }) }));
    expect(r).toMatchObject({ ok: true, streamId: `article-${A}` });
    expect(r.ok && r.events[0]!.data).toEqual({ id: A, slug: 'how-to', number: 7, title: 'How to' });
  });

  it('a request lookup after the answer (a create); the data still comes from the body', async () => {
    const r = await buildEvents(input('POST /api/drafts', { requestBody: body({ article: { slug: 'how-to', title: 'New' } }) }));
    expect(r).toMatchObject({ ok: true, streamId: `article-${A}` });
    expect(r.ok && r.events[0]!.data).toEqual({ slug: 'how-to', title: 'New' });
  });

  it('a key found before forwarding is used as is (the row is gone after a hard delete)', async () => {
    const r = await buildEvents(input('DELETE /api/articles/:slug', { params: { slug: 'gone' }, identity: A }));
    expect(r).toMatchObject({ ok: true, streamId: `article-${A}` });
  });

  it('no value, no row, two rows, and a value the column type refuses', async () => {
    const cases = await Promise.all([
      buildEvents(input('POST /api/articles', { responseBody: body({ post: { slug: 'how-to' } }) })),
      buildEvents(input('DELETE /api/articles/:slug', { params: { slug: 'never-was' } })),
      buildEvents(input('DELETE /api/articles/:slug', { params: { slug: 'twice' } })),
      buildEvents(input('PUT /api/articles/by-number/:n', { params: { n: 'seven' } })),
    ]);
    expect(cases.map((c) => !c.ok && c.reason)).toEqual(['no_id', 'row_not_found', 'lookup_not_unique', 'row_read_failed']);
    expect(cases.map((c) => (c.ok ? '' : c.detail)).slice(0, 3)).toEqual([
      'lookup: no value at $.article.slug in the legacy answer',
      'no articles row with slug = "never-was"',
      'more than one articles row with slug = "twice"; lookup.column must be unique in articles',
    ]);
    expect(!cases[3].ok && cases[3].detail).toContain('reading articles where number = "seven" failed');
  });
});
