import { describe, expect, it } from 'vitest';
import { buildEvents, type CaptureInput } from '../../src/capture/buildEvents.ts';
import { ConfigError, loadConfig, type Config } from '../../src/config/index.ts';
import { deleteTarget } from '../../src/config/deleteRoutes.ts';
import { rowEventKinds } from '../../src/projections/modules/row/index.ts';

/** Soft deletes, sub-resource deletes and reconcile.where in YAML (issue 11, item 4). */

const ARTICLES = `
entities:
  articles:
    legacy: { table: articles, key: id }
    softDelete: { column: record_status, value: deleted }
    rowEvents: { ArticleArchived: updated }
    commands:
      - { route: "POST /api/articles", event: ArticleCreated, id: "$.id", capture: response }
      - { route: "PUT /api/articles/:id", event: ArticleUpdated }
      - { route: "DELETE /api/articles/:id", event: ArticleDeleted }
      - { route: "DELETE /api/articles/:id/favorite", event: ArticleUnfavorited }
      - { route: "DELETE /api/articles/:id/comments/:commentId", event: CommentDeleted, capture: request }
      - { route: "POST /api/articles/:id/archive", event: ArticleArchived }
    reconcile:
      where:
        legacy: { record_status: { not: deleted }, deleted_at: null, kind: { in: [post, page] } }
        readModel: { record_status: live }
`;
const DB = 'mysql://u:p@127.0.0.1:1/legacy';

function load(text: string, env: Record<string, string> = {}): Config {
  return loadConfig({ text, env });
}

function failure(text: string): ConfigError {
  try {
    load(text);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

const captures = (c: Config) => Object.fromEntries(c.entities.articles!.commands.map((cmd) => [cmd.event, cmd.capture]));

describe('deleteTarget', () => {
  it('tells the entity item route from sub-resources', () => {
    expect(deleteTarget('DELETE /orders/:id')).toBe('item');
    expect(deleteTarget('DELETE /api/articles/:slug')).toBe('item');
    expect(deleteTarget('DELETE /api/user')).toBe('item');
    expect(deleteTarget('DELETE /orders/:id/items/:sku')).toBe('sub');
    expect(deleteTarget('DELETE /api/articles/:slug/favorite')).toBe('sub');
    expect(deleteTarget('DELETE /orders/:orderId/items/:sku')).toBe('sub');
    expect(deleteTarget('PUT /orders/:id')).toBeNull();
  });
});

describe('capture of sub-resource DELETEs and soft deletes', () => {
  it('defaults to the legacy after-image (capture: row) when a legacy database is configured', () => {
    const c = load(`legacy: { upstream: "http://127.0.0.1:3000", database: { url: "${DB}" } }\n${ARTICLES}`);
    expect(captures(c)).toEqual({
      ArticleCreated: 'response',
      ArticleUpdated: 'request',
      ArticleDeleted: 'row', // soft delete
      ArticleUnfavorited: 'row', // sub-resource
      CommentDeleted: 'request', // named by the command: kept
      ArticleArchived: 'request',
    });
  });

  it('captures the request without a legacy database', () => {
    expect(Object.values(captures(load(`legacy: { upstream: "http://127.0.0.1:3000" }\n${ARTICLES}`)))).not.toContain('row');
  });

  it('falls back to the request, not to no event, when the legacy database variable is unset', () => {
    const c = load(`legacy: { upstream: "http://127.0.0.1:3000", database: { url: "\${LEGACY_DB}" } }\n${ARTICLES}`);
    expect(c.legacy.database.url).toBeNull();
    expect(captures(c)).toMatchObject({ ArticleDeleted: 'request', ArticleUnfavorited: 'request' });
    expect(c.warnings).toEqual([
      expect.stringContaining(
        'reconciliation is off; DELETE /api/articles/:id, DELETE /api/articles/:id/favorite capture the request instead of re-reading the row',
      ),
    ]);
  });

  it('leaves the capture of projection modules alone', () => {
    const c = load(`legacy: { upstream: "http://127.0.0.1:3000", database: { url: "${DB}" } }
entities:
  orders:
    projection: ./examples/legacy-orders/projections/orders.ts
    commands: [{ route: "DELETE /orders/:id/items/:sku", event: OrderItemRemoved }]
`);
    expect(c.entities.orders!.commands[0]!.capture).toBe('request');
  });

  it('sets the soft-delete column in a request-captured soft delete, and only there', async () => {
    const c = load(`legacy: { upstream: "http://127.0.0.1:3000" }\n${ARTICLES}`);
    const entityConfig = c.entities.articles!;
    const capture = async (route: string) => {
      const input: CaptureInput = {
        entity: 'articles',
        entityConfig,
        command: entityConfig.commands.find((x) => x.route === route)!,
        params: { id: 'a1' },
        method: 'DELETE',
        path: '/api/articles/a1',
        requestId: 'r1',
        requestHeaders: {},
        requestBody: Buffer.alloc(0),
        responseStatus: 204,
        responseBody: Buffer.alloc(0),
        actorHeader: 'x-user-id',
      };
      const res = await buildEvents(input);
      if (!res.ok) throw new Error(res.detail);
      return res.events[0]!.data;
    };
    expect(await capture('DELETE /api/articles/:id')).toEqual({ record_status: 'deleted' });
    expect(await capture('DELETE /api/articles/:id/favorite')).toEqual({});
  });
});

describe('row event kinds', () => {
  const kinds = (c: Config) => {
    const e = c.entities.articles!;
    return Object.fromEntries(rowEventKinds(e.commands, e.rowEvents, { softDelete: e.softDelete !== undefined }));
  };

  it('a sub-resource DELETE and a soft delete are updates; rowEvents overrides the rule', () => {
    expect(kinds(load(`legacy: { upstream: "http://127.0.0.1:3000" }\n${ARTICLES}`))).toMatchObject({
      ArticleCreated: 'created',
      ArticleDeleted: 'updated',
      ArticleUnfavorited: 'updated',
      CommentDeleted: 'updated',
      ArticleArchived: 'updated',
    });
  });

  it('without softDelete the item DELETE deletes the row; a sub-resource DELETE still does not', () => {
    const text = `legacy: { upstream: "http://127.0.0.1:3000" }\n${ARTICLES.replace(/ {4}softDelete: .*\n/, '').replace(/ {4}rowEvents: .*\n/, '    rowEvents: { ArticleUnfavorited: deleted }\n')}`;
    expect(kinds(load(text))).toMatchObject({ ArticleDeleted: 'deleted', CommentDeleted: 'updated', ArticleUnfavorited: 'deleted' });
  });
});

describe('reconcile.where', () => {
  it('parses the per-side forms', () => {
    const c = load(`legacy: { upstream: "http://127.0.0.1:3000" }\n${ARTICLES}`);
    expect(c.entities.articles!.reconcile.where).toEqual({
      legacy: { record_status: { not: 'deleted' }, deleted_at: null, kind: { in: ['post', 'page'] } },
      readModel: { record_status: 'live' },
    });
  });

  it('refuses a bad column name, an unknown form and an empty list, naming the field', () => {
    const bad = (where: string) =>
      failure(`legacy: { upstream: "http://127.0.0.1:3000" }\nentities: { articles: { reconcile: { where: ${where} } } }\n`).issues;
    expect(bad('{ legacy: { "record status": live } }')[0]).toMatchObject({
      path: 'entities.articles.reconcile.where.legacy.record status',
      example: expect.stringContaining('{ not: deleted }'),
    });
    expect(bad('{ legacy: { record_status: { like: "del%" } } }')[0]).toMatchObject({
      path: 'entities.articles.reconcile.where.legacy.record_status',
      message: expect.stringContaining('{ not: value } or { in: [a, b] }'),
      example: expect.stringContaining('record_status'),
    });
    expect(bad('{ legacy: { record_status: { in: [] } } }')[0]).toMatchObject({
      path: 'entities.articles.reconcile.where.legacy.record_status.in',
      message: 'expected a list of one value or more, got []',
    });
    expect(bad('{ both: { record_status: live } }')[0]).toMatchObject({
      path: 'entities.articles.reconcile.where.both',
      message: 'unknown key',
    });
  });

  it('refuses rowEvents on a projection module and a softDelete without a column', () => {
    const issues = failure(`legacy: { upstream: "http://127.0.0.1:3000" }
entities:
  orders: { projection: ./examples/legacy-orders/projections/orders.ts, rowEvents: { OrderPaid: updated }, softDelete: { value: deleted } }
`).issues;
    expect(issues.map((i) => i.path)).toEqual(['entities.orders.softDelete.column']);
    const noColumnFixed = failure(`legacy: { upstream: "http://127.0.0.1:3000" }
entities:
  orders: { projection: ./examples/legacy-orders/projections/orders.ts, rowEvents: { OrderPaid: updated } }
`).issues;
    expect(noColumnFixed).toEqual([
      {
        path: 'entities.orders.rowEvents',
        message: expect.stringContaining('applies to projection: row only'),
        example: 'rowEvents: { ArticleArchived: updated }',
      },
    ]);
  });
});
