import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { compileRouteTable, type Classified } from '../../src/proxy/routeTable.ts';

// Reads are declared parameter-first on purpose: the literal must win by specificity, not by order.
const SPEC = `
legacy: { upstream: "http://127.0.0.1:3000" }
eventStore: { url: memory }
entities:
  orders:
    commands:
      - { route: "POST /orders", event: OrderCreated, id: "$.id", capture: response }
      - { route: "POST /orders/:id/items", event: OrderItemAdded }
      - { route: "DELETE /orders/:id", event: OrderDeleted }
    reads:
      - { route: "GET /orders/:id", query: { table: orders, key: id, fields: { id: id } } }
      - { route: "GET /orders/export", query: { table: orders, fields: { id: id }, order: [id] } }
      - { route: "GET /orders", query: { table: orders, fields: { id: id }, order: [id], filters: { customerId: customer_id } } }
  customers:
    commands:
      - { route: "PUT /customers/:id/addresses/:addressId", event: AddressSet }
`;

const table = compileRouteTable(loadConfig({ text: SPEC, env: {} }).entities);

/** What a request classifies as, in a form easy to compare: kind, route and params. */
function classify(method: string | undefined, url: string | undefined) {
  const c: Classified = table.classify(method, url);
  return c.kind === 'passthrough' ? { kind: 'passthrough' } : { kind: c.kind, route: c.route, entity: c.entity, params: c.params };
}

describe('compileRouteTable', () => {
  it('knows every route of the spec', () => {
    expect(table.routes.map((r) => r.route).sort()).toEqual(
      [
        'DELETE /orders/:id',
        'GET /orders',
        'GET /orders/:id',
        'GET /orders/export',
        'POST /orders',
        'POST /orders/:id/items',
        'PUT /customers/:id/addresses/:addressId',
      ].sort(),
    );
  });

  it('a literal segment beats a parameter: GET /orders/export is not GET /orders/:id', () => {
    expect(classify('GET', '/orders/export')).toEqual({ kind: 'read', route: 'GET /orders/export', entity: 'orders', params: {} });
    expect(classify('GET', '/orders/ord_1')).toEqual({ kind: 'read', route: 'GET /orders/:id', entity: 'orders', params: { id: 'ord_1' } });
  });

  it('commands carry their route parameters, several of them', () => {
    expect(classify('POST', '/orders/ord_1/items')).toEqual({
      kind: 'command',
      route: 'POST /orders/:id/items',
      entity: 'orders',
      params: { id: 'ord_1' },
    });
    expect(classify('PUT', '/customers/c-1/addresses/home')).toEqual({
      kind: 'command',
      route: 'PUT /customers/:id/addresses/:addressId',
      entity: 'customers',
      params: { id: 'c-1', addressId: 'home' },
    });
    expect(classify('POST', '/orders')).toMatchObject({ kind: 'command', route: 'POST /orders', params: {} });
  });

  it('a trailing slash matches the same route', () => {
    expect(classify('GET', '/orders/ord_1/')).toMatchObject({ route: 'GET /orders/:id', params: { id: 'ord_1' } });
    expect(classify('POST', '/orders/')).toMatchObject({ route: 'POST /orders' });
    expect(classify('POST', '/orders/ord_1/items/')).toMatchObject({ route: 'POST /orders/:id/items' });
  });

  it('the query string is not part of the path', () => {
    expect(classify('GET', '/orders?customerId=c-1')).toMatchObject({ route: 'GET /orders', params: {} });
    expect(classify('DELETE', '/orders/ord_1?force=true&x=/y')).toMatchObject({ route: 'DELETE /orders/:id', params: { id: 'ord_1' } });
    expect(classify('GET', '/orders/?')).toMatchObject({ route: 'GET /orders' });
  });

  it('parameters are percent-decoded (an encoded slash stays inside one segment)', () => {
    expect(classify('DELETE', '/orders/ord%201')).toMatchObject({ params: { id: 'ord 1' } });
    expect(classify('DELETE', '/orders/a%2Fb')).toMatchObject({ params: { id: 'a/b' } });
    expect(classify('DELETE', '/orders/%C3%A9t%C3%A9')).toMatchObject({ params: { id: 'été' } });
  });

  it("a malformed escape passes through: legacy's to answer", () => {
    expect(classify('DELETE', '/orders/%E0%A4%A')).toEqual({ kind: 'passthrough' });
    expect(classify('DELETE', '/orders/100%')).toEqual({ kind: 'passthrough' });
  });

  it('methods without routes, and paths no route matches, pass through', () => {
    for (const [method, url] of [
      ['PATCH', '/orders/ord_1'],
      ['OPTIONS', '/orders'],
      ['HEAD', '/orders/ord_1'],
      ['GET', '/orders/ord_1/items'],
      ['POST', '/orders/ord_1/items/extra'],
      ['POST', '/orders/ord_1/unknown'],
      ['DELETE', '/orders'],
      ['DELETE', '/orders//'],
      ['GET', '/'],
      ['GET', '/health'],
    ] as const) {
      expect(classify(method, url), `${method} ${url}`).toEqual({ kind: 'passthrough' });
    }
    expect(classify(undefined, '/orders')).toEqual({ kind: 'passthrough' });
    expect(classify('GET', undefined)).toEqual({ kind: 'passthrough' });
  });

  it('an empty parameter segment does not match', () => {
    expect(classify('POST', '/orders//items')).toEqual({ kind: 'passthrough' });
  });
});
