import { describe, expect, it } from 'vitest';
import { createEventStoreHealth } from '../../src/doctor/health.ts';
import { lagSeverity } from '../../src/doctor/severity.ts';
import type { DoctorReport } from '../../src/doctor/types.ts';
import { compareOrder } from '../../src/doctor/verify/compareOrder.ts';
import { parseStreamId } from '../../src/doctor/verify/verifyStream.ts';
import type { OrderRows } from '../../src/projections/aggregates/order.ts';

describe('lag severity', () => {
  it('grades events behind head: low ≤ 100, medium ≤ 1000, high ≤ 10000, critical above', () => {
    expect([0, 1, 100, 101, 1000, 1001, 10_000, 10_001].map(lagSeverity)).toEqual([
      null,
      'low',
      'low',
      'medium',
      'medium',
      'high',
      'high',
      'critical',
    ]);
  });
});

const rows = (
  over: Partial<OrderRows['order']> = {},
  items: OrderRows['items'] = [{ sku: 'A', quantity: '1', price: '9.99' }],
): OrderRows => ({
  order: {
    id: 'ord_1',
    customer_id: 'c',
    status: 'CREATED',
    total_amount: '9.99',
    created_at: '2024-01-01T00:00:00.000000Z',
    updated_at: '2024-01-01T00:00:00.000000Z',
    ...over,
  },
  items,
});

describe('compareOrder', () => {
  it('equal rows have no differences', () => {
    expect(compareOrder(rows(), rows(), { deleted: false, orphanItems: 0 })).toEqual([]);
  });

  it('names each differing field with both values', () => {
    const diffs = compareOrder(
      rows(),
      rows({ status: 'PAID', total_amount: '10.00' }, [
        { sku: 'A', quantity: '2', price: '9.99' },
        { sku: 'Z', quantity: '1', price: '1.00' },
      ]),
      { deleted: false, orphanItems: 0 },
    );
    expect(diffs).toEqual([
      { field: 'orders.status', expected: 'CREATED', actual: 'PAID' },
      { field: 'orders.total_amount', expected: '9.99', actual: '10.00' },
      { field: 'order_items[sku=A].quantity', expected: '1', actual: '2' },
      { field: 'order_items[sku=Z]', expected: '(no row)', actual: 'quantity 1, price 1.00' },
    ]);
  });

  it('a row the stream deleted, and a row the projection never wrote, are differences', () => {
    expect(compareOrder(null, rows(), { deleted: true, orphanItems: 0 })[0]?.field).toBe('orders');
    expect(compareOrder(rows(), null, { deleted: false, orphanItems: 0 })).toEqual([
      { field: 'orders', expected: 'row ord_1', actual: '(no row)' },
    ]);
  });
});

describe('parseStreamId', () => {
  it('finds the entity and id from the stream templates', () => {
    expect(parseStreamId('orders-ord_1', { orders: 'orders-{id}' })).toEqual({ entity: 'orders', id: 'ord_1' });
    expect(parseStreamId('cart:42:v1', { orders: 'orders-{id}', carts: 'cart:{id}:v1' })).toEqual({ entity: 'carts', id: '42' });
    expect(parseStreamId('orders-', { orders: 'orders-{id}' })).toBeNull();
  });
});

describe('event store health cache', () => {
  const report = (healthy: boolean) => ({ healthy }) as DoctorReport;

  it('serves a report younger than the ttl without running the checks again, and shares one run', async () => {
    let t = 0;
    let runs = 0;
    const health = createEventStoreHealth({ ttlMs: 1000, now: () => t, run: async () => report(++runs === 1) });
    const [a, b] = await Promise.all([health(), health()]);
    expect(runs).toBe(1);
    expect(a.ok).toBe(true);
    expect(b.report).toBe(a.report);
    t = 999;
    expect((await health()).ageMs).toBe(999);
    expect(runs).toBe(1);
    t = 1000;
    expect((await health()).ok).toBe(false);
    expect(runs).toBe(2);
  });
});
