import { describe, expect, it } from 'vitest';
import { buildEvents, type CaptureInput } from '../../src/capture/buildEvents.ts';
import { readJsonPath, toJsonPath } from '../../src/capture/jsonPath.ts';
import { loadConfig } from '../../src/config/index.ts';

const config = (commands: string) =>
  loadConfig({
    text: `
legacy: { upstream: "http://127.0.0.1:3000" }
eventStore: { url: memory }
entities:
  articles:
    stream: "article-{id}"
    redact: [password]
    commands:
${commands}
`,
    env: {},
  });

const SPEC = config(`
      - { route: "POST /api/articles",        event: ArticleCreated, id: "article.slug", capture: response, root: $.article }
      - { route: "PUT /api/articles/:id",     event: ArticleUpdated, capture: request, root: "article", data: [title, body] }
      - { route: "PUT /api/articles/:id/raw", event: ArticleEdited,  capture: request, data: [$.article.title, article.author.name] }
      - { route: "POST /api/articles/:id/pin", event: ArticlePinned, capture: request }
`);
const entityConfig = SPEC.entities.articles!;
const body = (v: unknown) => Buffer.from(JSON.stringify(v));

function input(route: string, over: Partial<CaptureInput>): CaptureInput {
  return {
    entity: 'articles',
    entityConfig,
    command: entityConfig.commands.find((c) => c.route === route)!,
    params: { id: 'how-to' },
    method: route.split(' ')[0]!,
    path: '/api/articles',
    requestId: 'req-1',
    requestHeaders: {},
    requestBody: Buffer.alloc(0),
    responseStatus: 200,
    responseBody: Buffer.alloc(0),
    actorHeader: 'x-user-id',
    ...over,
  };
}

describe('JSON paths of the spec', () => {
  it('take $.a.b or a.b alike, walking objects only', () => {
    const doc = { article: { title: 'T', tags: ['a'], author: { name: 'ann' } } };
    expect(toJsonPath('article.title')).toBe('$.article.title');
    expect(readJsonPath(doc, '$.article.author.name')).toBe('ann');
    expect(readJsonPath(doc, 'article.author.name')).toBe('ann');
    expect(readJsonPath(doc, '$')).toBe(doc);
    expect(readJsonPath(doc, 'article.tags.length')).toBeUndefined();
    expect(readJsonPath(doc, 'article.missing.deeper')).toBeUndefined();
    expect(readJsonPath('text', 'article')).toBeUndefined();
  });

  it('the config keeps id and root as $. paths', () => {
    expect(entityConfig.commands[0]).toMatchObject({ id: '$.article.slug', root: '$.article' });
    expect(entityConfig.commands[1]).toMatchObject({ root: '$.article', data: ['title', 'body'] });
  });
});

describe('envelopes', () => {
  it('root unwraps the response; id is a path into the whole answer', async () => {
    const r = await buildEvents(
      input('POST /api/articles', { responseBody: body({ article: { slug: 'how-to', title: 'How to', password: 'x' } }) }),
    );
    expect(r).toMatchObject({ ok: true, streamId: 'article-how-to' });
    expect(r.ok && r.events[0]!.data).toEqual({ slug: 'how-to', title: 'How to' });
  });

  it('data fields are relative to root in a request body', async () => {
    const r = await buildEvents(
      input('PUT /api/articles/:id', { requestBody: body({ article: { title: 'New', body: 'B', slug: 'ignored' }, other: 1 }) }),
    );
    expect(r.ok && r.events[0]!.data).toEqual({ title: 'New', body: 'B' });
  });

  it('data paths without root land under their last key', async () => {
    const r = await buildEvents(
      input('PUT /api/articles/:id/raw', { requestBody: body({ article: { title: 'New', author: { name: 'ann' } } }) }),
    );
    expect(r.ok && r.events[0]!.data).toEqual({ title: 'New', name: 'ann' });
  });

  it('data that comes out empty is a capture error empty_data, not an empty event', async () => {
    for (const requestBody of [
      body({ post: { title: 'wrong envelope' } }),
      body({ article: {} }),
      body({ article: 'x' }),
      Buffer.alloc(0),
    ]) {
      const r = await buildEvents(input('PUT /api/articles/:id', { requestBody }));
      expect(r).toMatchObject({ ok: false, reason: 'empty_data' });
      expect(!r.ok && r.detail).toContain('$.article');
    }
    const noFields = await buildEvents(input('PUT /api/articles/:id/raw', { requestBody: body({ title: 'top level' }) }));
    expect(noFields).toMatchObject({ ok: false, reason: 'empty_data' });
    const noEnvelope = await buildEvents(input('POST /api/articles', { responseBody: body({ slug: 'how-to' }) }));
    expect(noEnvelope).toMatchObject({ ok: false, reason: 'no_id' });
  });

  it('a command with neither root nor data keeps an empty body as empty data', async () => {
    const r = await buildEvents(input('POST /api/articles/:id/pin', {}));
    expect(r.ok && r.events[0]!.data).toEqual({});
  });
});

describe('envelope config check', () => {
  it('refuses root on capture: row and two data paths landing in one field', () => {
    expect(() =>
      loadConfig({
        text: `
legacy: { upstream: "http://127.0.0.1:3000", database: { url: "postgres://x@127.0.0.1:1/x" } }
entities:
  articles:
    commands:
      - { route: "PUT /a/:id", event: E, capture: row, root: $.article }
      - { route: "PUT /b/:id", event: F, data: [article.title, $.meta.title] }
`,
        env: {},
      }),
    ).toThrow(
      /commands\[0\]\.root: applies to capture: request or response[\s\S]*commands\[1\]\.data\[1\]: "\$\.meta\.title" and "article\.title" both land in the event field "title"/,
    );
  });
});
