import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { entitiesSchema } from '../../src/config/entitySchema.ts';
import { createOrdersProjection } from '../../examples/legacy-orders/projections/orders/index.ts';
import { loadProjections } from '../../src/projections/registry.ts';
import { orderEvents, recorded } from './projection-modules.events.ts';

const ORDERS_MODULE = path.resolve(import.meta.dirname, '../../examples/legacy-orders/projections/orders.ts');

const entities = (projection: string) =>
  entitiesSchema.parse({
    orders: {
      projection,
      commands: [
        { route: 'POST /orders', event: 'OrderCreated', id: '$.id', capture: 'response', expectedVersion: 'no_stream' },
        { route: 'POST /orders/:id/items', event: 'OrderItemAdded' },
        { route: 'DELETE /orders/:id', event: 'OrderDeleted' },
      ],
    },
    customers: { commands: [{ route: 'POST /customers', event: 'CustomerRegistered', id: '$.id', capture: 'response' }] },
  });

describe('loadProjections', () => {
  it('builds the row projection for `row` and imports a module path with its upcasters', async () => {
    const loaded = await loadProjections(entities(ORDERS_MODULE));
    expect(loaded.map((p) => [p.entity, p.source, p.module.name])).toEqual([
      ['orders', ORDERS_MODULE, 'orders'],
      ['customers', 'row', 'customers'],
    ]);
    const orders = loaded[0]!;
    expect(orders.module.handles).toContain('OrderItemAdded');
    const [v1] = recorded([orderEvents.itemAdded('ord_1', { sku: 'A', quantity: 1, price: 2.5 })]);
    expect(orders.upcasters.upcast(v1!).data).toEqual({ sku: 'A', quantity: 1, unitPrice: '2.5' });
    expect(loaded[1]!.upcasters.upcast(v1!)).toBe(v1);
  });

  it('refuses a file whose default export is not a projection module, saying what it must export', async () => {
    await expect(loadProjections(entities('/x/bad.ts'), { importModule: async () => ({ default: { name: 'x' } }) })).rejects.toThrow(
      /entities\.orders\.projection \(\/x\/bad\.ts\): the default export must be a projection module/,
    );
  });

  it('reports a module that cannot be imported', async () => {
    await expect(loadProjections(entities('/nowhere/missing.ts'))).rejects.toThrow(
      /entities\.orders\.projection: cannot import \/nowhere\/missing\.ts/,
    );
  });

  it('refuses two entities whose projections share a name', async () => {
    const same = { default: createOrdersProjection({ name: 'customers' }) };
    await expect(loadProjections(entities('/x/orders.ts'), { importModule: async () => same })).rejects.toThrow(
      /Entities orders and customers both have a projection named "customers"/,
    );
  });
});
