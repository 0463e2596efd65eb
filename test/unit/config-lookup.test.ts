import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.ts';
import { rowEventKinds } from '../../src/projections/modules/row/kinds.ts';

const HEAD = 'legacy: { upstream: http://127.0.0.1:3000, database: { url: "mysql://app@127.0.0.1:3306/conduit" } }\n';

const entities = (commands: string, head = HEAD) =>
  `${head}entities:\n  articles:\n    stream: "article-{id}"\n    legacy: { table: articles, key: id }\n    commands:\n${commands}`;

function failure(text: string): ConfigError {
  try {
    loadConfig({ text, env: {} });
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('lookup: { column, param | request | response }', () => {
  it('the documented forms load, JSON paths normalised to $.', () => {
    const config = loadConfig({
      text: entities(
        [
          '      - { route: "POST /api/articles", event: ArticleCreated, capture: row, lookup: { column: slug, response: "article.slug" } }',
          '      - { route: "PUT /api/articles/:slug", event: ArticleUpdated, capture: row, lookup: { column: slug, response: "$.article.slug" } }',
          '      - { route: "DELETE /api/articles/:slug", event: ArticleDeleted, lookup: { column: slug, param: slug } }',
          '      - { route: "POST /api/drafts", event: DraftCreated, lookup: { column: slug, request: "$.article.slug" } }',
          '',
        ].join('\n'),
      ),
      env: {},
    });
    expect(config.entities.articles!.commands.map((c) => c.lookup)).toEqual([
      { column: 'slug', response: '$.article.slug' },
      { column: 'slug', response: '$.article.slug' },
      { column: 'slug', param: 'slug' },
      { column: 'slug', request: '$.article.slug' },
    ]);
  });

  it('a route with no key at all loads with a response lookup (PUT /api/user)', () => {
    const config = loadConfig({
      text: `${HEAD}entities:\n  users:\n    commands:\n      - { route: "PUT /api/user", event: UserUpdated, capture: row, lookup: { column: username, response: "$.user.username" } }\n`,
      env: {},
    });
    expect(config.entities.users!.commands[0]!.lookup).toEqual({ column: 'username', response: '$.user.username' });
  });

  it('a route with no usable key names both options, id and lookup, with an example', () => {
    const [issue] = failure(`${HEAD}entities:\n  users:\n    commands:\n      - { route: "PUT /api/user", event: UserUpdated }\n`).issues;
    expect(issue!.path).toBe('entities.users.commands[0].id');
    expect(issue!.message).toContain('"PUT /api/user" has no :id parameter');
    expect(issue!.message).toContain('set id (a JSON path into the response body)');
    expect(issue!.message).toContain('lookup: { column, param|request|response }');
    expect(issue!.message).toContain('e.g. lookup: { column: username, response: "$.user.username" }');
  });

  it('needs exactly one source of the value', () => {
    const none = failure(entities('      - { route: "PUT /api/articles/:slug", event: ArticleUpdated, lookup: { column: slug } }\n'));
    expect(none.issues).toEqual([
      {
        path: 'entities.articles.commands[0].lookup',
        message: 'needs one source of the value: param (a route parameter), request or response (a JSON path)',
        example: 'lookup: { column: slug, param: slug }',
      },
    ]);
    const two = failure(
      entities(
        '      - { route: "PUT /api/articles/:slug", event: ArticleUpdated, lookup: { column: slug, param: slug, response: $.slug } }\n',
      ),
    );
    expect(two.issues.map((i) => [i.path, i.message])).toEqual([
      ['entities.articles.commands[0].lookup', 'has param and response; keep one source of the value'],
    ]);
  });

  it('a param the route does not have, a bad column, an unknown key, and id beside lookup', () => {
    const error = failure(
      entities(
        [
          '      - { route: "DELETE /api/articles/:slug", event: ArticleDeleted, lookup: { column: slug, param: name } }',
          '      - { route: "PUT /api/articles/:slug", event: ArticleUpdated, lookup: { column: "slug; drop", param: slug } }',
          '      - { route: "POST /api/articles", event: ArticleCreated, lookup: { column: slug, body: $.slug } }',
          '      - { route: "POST /api/drafts", event: DraftCreated, id: $.id, lookup: { column: slug, response: $.slug } }',
          '',
        ].join('\n'),
      ),
    );
    expect(error.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'entities.articles.commands[0].lookup.param: "DELETE /api/articles/:slug" has no :name parameter (it has :slug)',
      'entities.articles.commands[1].lookup.column: expected a table or column name (letters, digits and _), got "slug; drop"',
      'entities.articles.commands[2].lookup.body: unknown key',
      'entities.articles.commands[2].lookup: needs one source of the value: param (a route parameter), request or response (a JSON path)',
      "entities.articles.commands[3].id: with lookup the stream id is the row's legacy.key; remove id",
    ]);
  });

  it('without a legacy database, a lookup is refused at load, naming the field and what to set', () => {
    const error = failure(
      entities(
        '      - { route: "DELETE /api/articles/:slug", event: ArticleDeleted, lookup: { column: slug, param: slug } }\n',
        'legacy: { upstream: http://127.0.0.1:3000 }\n',
      ),
    );
    expect(error.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'entities.articles.commands[0].lookup: lookup finds the row in the legacy table articles, so legacy.database.url must be set, e.g. legacy: { database: { url: "${STRANGLER_LEGACY_DB_URL}" } }',
    ]);
  });

  it('the row projection: a POST lookup on a collection route creates the row; on an item route it updates it', () => {
    const config = loadConfig({
      text: entities(
        [
          '      - { route: "POST /api/articles", event: ArticleCreated, capture: row, lookup: { column: slug, response: $.article.slug } }',
          '      - { route: "POST /api/articles/:slug/favorite", event: ArticleFavorited, capture: row, lookup: { column: slug, param: slug } }',
          '      - { route: "PUT /api/articles/:slug", event: ArticleUpdated, capture: row, lookup: { column: slug, response: $.article.slug } }',
          '',
        ].join('\n'),
      ),
      env: {},
    });
    const kinds = rowEventKinds(config.entities.articles!.commands);
    expect([kinds.get('ArticleCreated'), kinds.get('ArticleFavorited'), kinds.get('ArticleUpdated')]).toEqual([
      'created',
      'updated',
      'updated',
    ]);
  });
});
