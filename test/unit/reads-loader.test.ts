/**
 * Read-handler modules: what a file may export (a handler, or a factory given the entity,
 * its config and the route), and the start-up errors naming the file and the route when it
 * cannot be used. The real loader (tsx, `strangler-sidecar/reads` resolution) is exercised on
 * the sample's getOrder.ts by test/int/reads-equivalence.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { defineReadHandler, PASS_TO_LEGACY, type ReadHandlerContext } from '../../src/api/reads.ts';
import { loadConfig } from '../../src/config/index.ts';
import { handledRoutes, loadReadHandlers } from '../../src/reads/loadReadHandlers.ts';

const entities = loadConfig({
  env: {},
  cwd: '/srv/app',
  text: `legacy: { upstream: "http://127.0.0.1:3000" }
entities:
  orders:
    readModel: { table: rm.orders }
    reads:
      - { route: "GET /orders/:id", handler: ./reads/getOrder.ts }
      - { route: "GET /orders", query: { table: orders, fields: { id: id }, order: [id] } }
  carts: {}
`,
}).entities;
const FILE = '/srv/app/reads/getOrder.ts';
const load = (exports: unknown) => loadReadHandlers(entities, { importModule: async () => exports });

describe('read-handler modules', () => {
  it('a factory gets the entity, its config and the route; declarative reads sit beside it', async () => {
    let seen: ReadHandlerContext | undefined;
    const handlers = await load({
      default: (ctx: ReadHandlerContext) => {
        seen = ctx;
        return defineReadHandler({ route: ctx.route, handle: async () => ({ status: 200, body: { table: ctx.config.readModel.table } }) });
      },
    });
    expect(seen).toMatchObject({ entity: 'orders', route: 'GET /orders/:id', config: { readModel: { table: 'rm.orders' } } });
    expect(handledRoutes(handlers, 'orders')).toEqual(['GET /orders/:id', 'GET /orders']);
    expect(handledRoutes(handlers, 'carts')).toEqual([]);
    const answer = await handlers
      .get('orders')!
      .get('GET /orders/:id')!
      .handle({ method: 'GET', url: '/orders/1', params: { id: '1' }, query: new URLSearchParams(), headers: {} }, {} as never);
    expect(answer.body).toEqual({ table: 'rm.orders' });
  });

  it('a handler object as the default export', async () => {
    const handler = { route: 'GET /orders/:id', handle: async () => PASS_TO_LEGACY };
    expect((await load({ default: handler })).get('orders')!.get('GET /orders/:id')).toBe(handler);
  });

  it('a module that cannot be used stops start-up, naming the file and the route', async () => {
    const where = `entities.orders.reads[0].handler (${FILE}, for "GET /orders/:id")`;
    await expect(loadReadHandlers(entities, { importModule: () => Promise.reject(new Error('Unexpected token')) })).rejects.toThrow(
      `${where}: cannot import it: Unexpected token`,
    );
    await expect(load({ handler: {} })).rejects.toThrow(
      `${where}: the default export must be a read handler ({ route, handle }) or a function returning one (it is not an object)`,
    );
    await expect(load({ default: { route: 'orders', handle: 1 } })).rejects.toThrow(
      'route must be the route it answers, like "GET /orders/:id"; handle must be a function',
    );
    await expect(load({ default: { route: 'GET /orders/:orderId', handle: async () => PASS_TO_LEGACY } })).rejects.toThrow(
      `${where}: the handler answers "GET /orders/:orderId", but it is configured for "GET /orders/:id"`,
    );
    await expect(
      load({
        default: () => {
          throw new Error('no db url');
        },
      }),
    ).rejects.toThrow(`${where}: its factory failed: no db url`);
  });

  it('defineReadHandler checks the shape at load time', () => {
    expect(() => defineReadHandler({ route: 'GET /x' } as never)).toThrow(
      /defineReadHandler: handle must be a function.*Example: export default/,
    );
  });
});
