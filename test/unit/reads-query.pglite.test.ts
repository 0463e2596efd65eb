/**
 * The declarative read handler against a real (embedded) PostgreSQL: every field type
 * formatted as legacy would send it, envelopes, not-found bodies, list filters, order,
 * pages and counts, what passes to legacy, and how a missing table or column is reported.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import type { Executor } from '../../src/db/executor.ts';
import { createPgliteExecutor } from '../../src/db/pgliteExecutor.ts';
import { loadReadHandlers } from '../../src/reads/loadReadHandlers.ts';
import type { ReadAnswer, ReadHandlers } from '../../src/reads/types.ts';

const SPEC = `
legacy: { upstream: "http://127.0.0.1:3000" }
entities:
  things:
    readModel: { table: rm.things }
    reads:
      - route: "GET /things/:slug"
        query:
          table: rm.things
          key: { column: slug, param: slug }
          where: { grp: { not: g2 } }   # rows of g2 are never answered
          envelope: thing
          fields:
            slug: slug
            n: { column: n, type: integer }
            big: { column: big, type: integer }
            price: { column: price, type: decimal, scale: 2 }
            priceNumber: { column: price, type: decimal, as: number }
            raw: { column: price, type: decimal }
            ratio: { column: ratio, type: number }
            flag: { column: flag, type: boolean }
            doc: { column: doc, type: json }
            at: { column: at, type: timestamp, digits: 6 }
            atMs: { column: at, type: timestamp }
            atS: { column: at, type: timestamp, digits: 0 }
            local: { column: local, type: timestamp, digits: 6 }
            note: note
            kind: { value: { of: [thing] } }
          notFound: { status: 410, body: { errors: { slug: ["{slug} is gone"] }, code: 7 } }
      - route: "GET /groups/:group/things"
        query:
          table: rm.things
          fields: { slug: slug, n: { column: n, type: integer } }
          envelope: things
          count: thingsCount
          filters: { group: grp, tag: { column: tag, pattern: "^[a-z]+$" } }
          order: ["n desc", slug]
          limit: { param: limit, default: 3, max: 10 }
          offset: { param: offset }
      - route: "GET /things"
        query:
          table: rm.things
          fields: { slug: slug }
          order: [slug]
          contentType: "application/vnd.things+json"
`;
const config = loadConfig({ text: SPEC, env: {} });

let db: Executor;
let handlers: ReadHandlers;
beforeAll(async () => {
  db = await createPgliteExecutor({});
  await db.exec(`SET TimeZone = 'America/Sao_Paulo';  -- the session zone must not leak into the answers
    CREATE SCHEMA rm;
    CREATE TABLE rm.things (slug text PRIMARY KEY, grp text, tag text, n integer, big bigint, price numeric(12,3), ratio double precision,
      flag boolean, doc jsonb, at timestamptz(6), local timestamp(6), note text);
    INSERT INTO rm.things VALUES
      ('a', 'g1', 'red', 5, 9007199254740991, 12.5, 0.1, true, '{"b":[1,{"c":null}],"a":"x"}', '2024-03-02T01:01:07.000010Z', '2024-03-02 01:01:07.123456', 'hi'),
      ('b', 'g1', 'blue', 7, 1, 0, 1e21, false, 'null', '2024-03-02T23:59:59.999999-03:00', '1999-12-31 23:59:59', NULL),
      ('c', 'g1', 'red', 7, 2, 3.999, -2.5, NULL, '[]', NULL, NULL, 'x'),
      ('d', 'g1', 'red', 1, 3, 1, 0, true, '{}', NULL, NULL, NULL),
      ('e', 'g2', 'red', 9, 4, 1, 0, true, '{}', NULL, NULL, NULL);`);
  handlers = await loadReadHandlers(config.entities, { db });
}, 60_000); // PGlite's WASM start-up is slow on a busy machine
afterAll(async () => {
  await db?.close();
});

function ask(route: string, path: string, params: Record<string, string> = {}): Promise<ReadAnswer> {
  return handlers
    .get('things')!
    .get(route)!
    .handle(
      { method: 'GET', url: path, params, query: new URL(path, 'http://x').searchParams, headers: {} },
      { db, signal: new AbortController().signal },
    );
}

describe('declarative item read', () => {
  it('formats every type as legacy sends it, in the fields order, inside the envelope', async () => {
    const a = await ask('GET /things/:slug', '/things/a', { slug: 'a' });
    expect(a.status).toBe(200);
    expect(a.contentType).toBe('application/json; charset=utf-8');
    expect(JSON.stringify(a.body)).toBe(
      '{"thing":{"slug":"a","n":5,"big":9007199254740991,"price":"12.50","priceNumber":12.5,"raw":"12.500","ratio":0.1,"flag":true,' +
        '"doc":{"a":"x","b":[1,{"c":null}]},"at":"2024-03-02T01:01:07.000010Z","atMs":"2024-03-02T01:01:07.000Z","atS":"2024-03-02T01:01:07Z",' +
        '"local":"2024-03-02T01:01:07.123456Z","note":"hi","kind":{"of":["thing"]}}}',
    );
    const b = await ask('GET /things/:slug', '/things/b', { slug: 'b' });
    expect(b.body).toMatchObject({
      thing: {
        price: '0.00',
        priceNumber: 0,
        ratio: 1e21,
        flag: false,
        doc: null,
        at: '2024-03-03T02:59:59.999999Z',
        local: '1999-12-31T23:59:59.000000Z',
        note: null,
      },
    });
    const c = await ask('GET /things/:slug', '/things/c', { slug: 'c' });
    expect(c.body).toMatchObject({ thing: { price: '4.00', raw: '3.999', flag: null, at: null, doc: [] } });
  });

  it('no row: the configured status and body, with {param} replaced', async () => {
    const gone = await ask('GET /things/:slug', '/things/zz', { slug: 'zz' });
    expect(gone).toEqual({
      status: 410,
      body: { errors: { slug: ['zz is gone'] }, code: 7 },
      contentType: 'application/json; charset=utf-8',
    });
  });
});

describe('declarative list read', () => {
  const list = (path: string, group = 'g1') => ask('GET /groups/:group/things', path, { group });

  it('filters by route and query parameters, orders, pages by default and on request, counts every match', async () => {
    expect((await list('/groups/g1/things')).body).toEqual({
      things: [
        { slug: 'b', n: 7 },
        { slug: 'c', n: 7 },
        { slug: 'a', n: 5 },
      ],
      thingsCount: 4,
    });
    expect((await list('/groups/g1/things?limit=2&offset=1')).body).toEqual({
      things: [
        { slug: 'c', n: 7 },
        { slug: 'a', n: 5 },
      ],
      thingsCount: 4,
    });
    expect((await list('/groups/g1/things?tag=red&limit=10')).body).toEqual({
      things: [
        { slug: 'c', n: 7 },
        { slug: 'a', n: 5 },
        { slug: 'd', n: 1 },
      ],
      thingsCount: 3,
    });
    expect((await list('/groups/g1/things?offset=50')).body).toEqual({ things: [], thingsCount: 4 });
    expect((await list('/groups/g9/things', 'g9')).body).toEqual({ things: [], thingsCount: 0 });
  });

  it('what the handler cannot vouch for passes to legacy', async () => {
    for (const q of ['limit=11', 'limit=x', 'limit=1&limit=2', 'offset=-1', 'tag=RED', 'tag=', 'tag=red&tag=blue'])
      expect((await list(`/groups/g1/things?${q}`)).pass, q).toBe(true);
  });

  it('a bare list with its own content type', async () => {
    const all = await ask('GET /things', '/things');
    expect(all).toEqual({
      status: 200,
      contentType: 'application/vnd.things+json',
      body: ['a', 'b', 'c', 'd', 'e'].map((slug) => ({ slug })),
    });
  });
});

describe('the read-model table', () => {
  const spec = (fields: string, table = 'rm.things') =>
    loadConfig({
      env: {},
      text: `legacy: { upstream: "http://127.0.0.1:3000" }
entities:
  things:
    reads:
      - { route: "GET /things/:slug", query: { table: ${table}, key: slug, fields: ${fields} } }
`,
    }).entities;

  it('a column it lacks stops start-up, naming the field and the columns it has', async () => {
    await expect(loadReadHandlers(spec('{ slug: slug }, where: { status: x }'), { db })).rejects.toThrow(
      'entities.things.reads[0].query.where.status: the read-model table "rm.things" has no column "status"',
    );
    await expect(loadReadHandlers(spec('{ slug: slug, price: { column: prize, type: decimal } }'), { db })).rejects.toThrow(
      'entities.things.reads[0].query.fields.price: the read-model table "rm.things" has no column "prize" (it has at, big, doc, flag, grp, local, n, note, price, ratio, slug, tag)',
    );
    await expect(loadReadHandlers(spec('{ slug: { column: slug, type: timestamp } }'), { db })).rejects.toThrow(
      'entities.things.reads[0].query.fields.slug: type timestamp needs a timestamp or date column; "slug" is text',
    );
  });

  it('a table that does not exist yet: start-up goes on, the first read says so, and a read after it is created works', async () => {
    const handlers = await loadReadHandlers(spec('{ slug: slug }', 'later'), { db });
    const handler = handlers.get('things')!.get('GET /things/:slug')!;
    const read = () =>
      handler.handle(
        { method: 'GET', url: '/things/a', params: { slug: 'a' }, query: new URLSearchParams(), headers: {} },
        { db, signal: new AbortController().signal },
      );
    await expect(read()).rejects.toThrow(`entities.things.reads[0].query.table: the read-model table "later" does not exist`);
    await db.exec(`CREATE TABLE later (slug text); INSERT INTO later VALUES ('a')`);
    expect((await read()).body).toEqual({ slug: 'a' });
  });
});
