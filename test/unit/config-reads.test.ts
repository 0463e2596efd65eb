import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.ts';

const HEAD = 'legacy: { upstream: http://127.0.0.1:3000 }\nentities:\n  orders:\n    reads:\n';

function issues(reads: string): { path: string; message: string; example: string }[] {
  try {
    loadConfig({ text: `${HEAD}${reads}`, env: {} });
  } catch (error) {
    if (error instanceof ConfigError) return [...error.issues];
    throw error;
  }
  throw new Error('expected a ConfigError');
}

const at = (i: number, rest = '') => `entities.orders.reads[${i}].query${rest}`;

describe('reads[].query: a declarative read', () => {
  it('a full item and list read validate, with shorthands expanded', () => {
    const config = loadConfig({
      env: {},
      text: `${HEAD}      - route: "GET /orders/:id"
        query:
          table: rm.orders
          key: id
          envelope: order
          fields: { id: id, total: { column: total_amount, type: decimal, scale: 2, as: number }, at: { column: created_at, type: timestamp, digits: 6 } }
          notFound: { status: 404, body: { error: not_found, message: "Order {id} not found" } }
      - route: "GET /orders"
        query:
          table: orders
          fields: { id: id }
          envelope: orders
          count: ordersCount
          filters: { customerId: { column: customer_id, pattern: "^c-[0-9]+$" }, status: status }
          order: ["created_at desc", id]
          limit: { default: 20, max: 100 }
          offset: {}
`,
    });
    const [item, list] = config.entities.orders!.reads;
    expect(item!.query).toMatchObject({
      table: 'rm.orders',
      key: { column: 'id' },
      fields: { id: { column: 'id', type: 'string' }, total: { column: 'total_amount', type: 'decimal', scale: 2, as: 'number' } },
      notFound: { status: 404, body: { error: 'not_found', message: 'Order {id} not found' } },
    });
    expect(list!.query).toMatchObject({
      filters: { customerId: { column: 'customer_id', pattern: '^c-[0-9]+$' }, status: { column: 'status' } },
      order: [
        { column: 'created_at', desc: true },
        { column: 'id', desc: false },
      ],
      limit: { param: 'limit', default: 20, max: 100 },
      offset: { param: 'offset' },
      notFound: { status: 404, body: { error: 'not_found' } },
    });
  });

  it('bad fields are named, with what was expected and an example', () => {
    expect(
      issues(`      - route: "GET /orders/:id"
        query: { table: "bad table", key: id, fields: { id: { column: id, type: money }, n: { column: 1x } } }
`),
    ).toEqual([
      {
        path: at(0, '.table'),
        message: 'expected a table name, optionally schema-qualified (orders or rm.orders), got "bad table"',
        example: 'table: orders',
      },
      {
        path: at(0, '.fields.id.type'),
        message: 'expected one of string, integer, number, boolean, json, decimal, timestamp, got "money"',
        example: 'type: decimal   # string, integer, number, boolean, json, decimal or timestamp',
      },
      {
        path: at(0, '.fields.n.column'),
        message: 'expected a table or column name (letters, digits and _), got "1x"',
        example: 'column: total_amount',
      },
    ]);
  });

  it('what the route or the shape makes wrong', () => {
    const found =
      issues(`      - { route: "GET /orders/:id", query: { table: orders, key: { column: id, param: orderId }, fields: { id: id }, order: [id] } }
      - { route: "GET /orders", query: { table: orders, fields: { id: { column: id, digits: 3 } }, count: n } }
      - { route: "GET /a/:x/b/:y", query: { table: orders, key: id } }
      - { route: "GET /items", query: { table: orders, fields: { id: id }, order: ["id sideways"], limit: { default: -1 } } }
      - { route: "GET /users", query: { table: users, fields: { id: id }, order: [id], limit: { min: 5, max: 2 } } }
`);
    expect(found.map((i) => `${i.path}: ${i.message}`)).toEqual([
      `${at(0, '.key.param')}: "GET /orders/:id" has no :orderId parameter (it has :id)`,
      `${at(0, '.order')}: applies to list reads (without key); remove it`,
      `${at(1, '.fields.id')}: digits applies to type: timestamp (this field is string)`,
      `${at(1, '.order')}: required for a list read (without key): legacy's order, so pages and answers match, e.g. order: [created_at, id]`,
      `${at(1, '.count')}: needs envelope (the count sits beside the list), e.g. envelope: articles, count: articlesCount`,
      `${at(2, '.fields')}: required: the JSON fields of the answer, e.g. fields: { id: id, customerId: customer_id }`,
      `${at(2, '.key')}: "GET /a/:x/b/:y" has 2 parameters; name the one holding the key, e.g. key: { column: id, param: id }`,
      `${at(3, '.order[0]')}: expected a column name, optionally followed by asc or desc, like "created_at desc", got "id sideways"`,
      `${at(3, '.limit.default')}: expected an integer of 0 or more, got -1`,
      `${at(4, '.limit.max')}: is below min (5)`,
    ]);
    expect(found.find((i) => i.path === at(0, '.key.param'))?.example).toBe('key: { column: id, param: id }');
  });

  it('a bad filter pattern, an unknown key, and both handler and query', () => {
    const found =
      issues(`      - { route: "GET /orders", query: { table: orders, fields: { id: id }, order: [id], filters: { c: { column: c, pattern: "([" } }, sort: id } }
      - { route: "GET /items", handler: ./x.ts, query: { table: orders, fields: { id: id }, order: [id] } }
`);
    expect(found).toEqual([
      { path: at(0, '.filters.c.pattern'), message: 'expected a valid regular expression, got "(["', example: expect.any(String) },
      { path: at(0, '.sort'), message: 'unknown key', example: expect.stringMatching(/^remove it \(known keys: table, key, fields, /) },
      { path: 'entities.orders.reads[1]', message: 'has both handler and query; keep one', example: expect.any(String) },
    ]);
  });
});
