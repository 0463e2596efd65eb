import { describe, expect, it } from 'vitest';
import { createEventStoreHealth } from '../../src/doctor/health.ts';
import { lagSeverity } from '../../src/doctor/severity.ts';
import type { DoctorReport } from '../../src/doctor/types.ts';
import { compareRows, sameValue } from '../../src/doctor/verify/compareRows.ts';
import { parseStreamId } from '../../src/doctor/verify/verifyStream.ts';
import type { ExpectedTable } from '../../src/projections/types.ts';

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

const cart = (over: Record<string, string | null> = {}) => ({
  id: 'c1',
  owner: 'ann',
  status: 'OPEN',
  total: '9.99',
  updated_at: '2024-01-01T00:00:00.000000Z',
  ...over,
});
const carts = (rows: Record<string, string | null>[], absent?: string): ExpectedTable => ({
  where: { id: 'c1' },
  rows,
  ...(absent ? { absent } : {}),
});
const lines = (rows: Record<string, string | null>[]): ExpectedTable => ({ where: { cart_id: 'c1' }, key: ['sku'], rows });

describe('compareRows (doctor verify, any projection with a fold)', () => {
  it('equal rows have no differences, whatever the column types print', () => {
    expect(compareRows('carts', carts([cart()]), [cart()])).toEqual([]);
    // NUMERIC(12,2), timestamptz and jsonb as PostgreSQL prints them.
    const typed = cart({ total: '9.990', updated_at: '2024-01-01 00:00:00+00', doc: '{"b": [1, 2], "a": 1.50}' });
    expect(compareRows('carts', carts([cart({ doc: '{"a":1.5,"b":[1,2]}' })]), [typed])).toEqual([]);
  });

  it('names each differing field with both values; rows told apart by key', () => {
    expect(compareRows('carts', carts([cart()]), [cart({ status: 'PAID', total: '10.00' })])).toEqual([
      { field: 'carts.status', expected: 'OPEN', actual: 'PAID' },
      { field: 'carts.total', expected: '9.99', actual: '10.00' },
    ]);
    const diffs = compareRows('cart_lines', lines([{ sku: 'A', quantity: '1', price: '9.99' }]), [
      { cart_id: 'c1', sku: 'A', quantity: '2', price: '9.99' },
      { cart_id: 'c1', sku: 'Z', quantity: '1', price: '1.00' },
    ]);
    expect(diffs).toEqual([
      { field: 'cart_lines[sku=A].quantity', expected: '1', actual: '2' },
      { field: 'cart_lines[sku=Z]', expected: '(no row)', actual: 'quantity 1, price 1.00' },
    ]);
  });

  it('a row the stream deleted, and a row the projection never wrote, are differences', () => {
    expect(compareRows('carts', carts([], 'the stream deleted it'), [cart()])).toEqual([
      { field: 'carts', expected: '(no row: the stream deleted it)', actual: 'row c1' },
    ]);
    expect(compareRows('carts', carts([cart()]), [])).toEqual([{ field: 'carts', expected: 'row c1', actual: '(no row)' }]);
    expect(compareRows('cart_lines', lines([{ sku: 'B', quantity: '3', price: '1.50' }]), [])).toEqual([
      { field: 'cart_lines[sku=B]', expected: 'quantity 3, price 1.50', actual: '(no row)' },
    ]);
  });

  it('numbers, times and JSON compare by value, other text exactly', () => {
    expect(sameValue('1.50', '1.5')).toBe(true);
    expect(sameValue('-0.0', '0')).toBe(true);
    expect(sameValue('1.5', '1.51')).toBe(false);
    expect(sameValue('2024-03-02T01:01:07.000010Z', '2024-03-02 01:01:07.00001+00')).toBe(true);
    expect(sameValue('2024-03-02T01:01:07Z', '2024-03-02T01:01:08Z')).toBe(false);
    expect(sameValue('{"a":1}', '{"a": 1}')).toBe(true);
    expect(sameValue('abc', 'ABC')).toBe(false);
    expect(sameValue(null, '')).toBe(false);
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
