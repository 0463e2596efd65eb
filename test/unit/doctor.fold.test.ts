import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../src/eventstore/types.ts';
import { formatCents, parseCents } from '../../examples/legacy-orders/projections/orders/cents.ts';
import { orderAggregate, orderRows, type OrderState } from '../../examples/legacy-orders/projections/orders/aggregate.ts';
import { normalizeTimestamp } from '../../src/projections/aggregates/timestamps.ts';

let position = 0;
const ev = (version: number, type: string, data: unknown, recordedAt = `2024-03-02T01:0${version % 10}:00.000001Z`): RecordedEvent => ({
  position: ++position,
  streamId: 'orders-ord_1',
  version,
  id: `00000000-0000-4000-8000-${String(version).padStart(12, '0')}`,
  type,
  data,
  metadata: {},
  recordedAt,
  transactionId: '1000',
});

const fold = (events: RecordedEvent[]): OrderState => events.reduce(orderAggregate.apply, orderAggregate.initial());

const created = ev(1, 'OrderCreated', {
  id: 'ord_1',
  customerId: 'cust-1',
  status: 'CREATED',
  totalAmount: '0.10',
  items: [{ sku: 'A', quantity: 1, price: '0.10' }],
  createdAt: '2024-03-02T01:01:07.000010Z',
  updatedAt: '2024-03-02T01:01:07.000010Z',
});

describe('money and time text', () => {
  it('parses decimals to exact cents and refuses what would round', () => {
    expect(parseCents('12.34')).toBe(1234n);
    expect(parseCents('12.5')).toBe(1250n);
    expect(parseCents('7')).toBe(700n);
    expect(parseCents(12.5)).toBe(1250n);
    expect(parseCents('12.500')).toBe(1250n);
    expect(parseCents('0.125')).toBeUndefined();
    expect(parseCents('1e3')).toBeUndefined();
    expect(formatCents(5n)).toBe('0.05');
    expect(formatCents(99_999_999_999_999_999n)).toBe('999999999999999.99');
  });

  it('normalises PostgreSQL timestamp text to ISO UTC with six fractional digits', () => {
    expect(normalizeTimestamp('2024-03-02 01:01:07.00001')).toBe('2024-03-02T01:01:07.000010Z');
    expect(normalizeTimestamp('2024-03-02 01:01:07.00001+00')).toBe('2024-03-02T01:01:07.000010Z');
    expect(normalizeTimestamp('2024-03-02 01:01:07')).toBe('2024-03-02T01:01:07.000000Z');
    expect(normalizeTimestamp('2024-03-02 03:01:07.5+02')).toBe('2024-03-02T01:01:07.500000Z');
    expect(normalizeTimestamp('2024-03-02 06:31:07.5+0530')).toBe('2024-03-02T01:01:07.500000Z');
    expect(normalizeTimestamp('yesterday')).toBeUndefined();
  });
});

describe('the orders fold', () => {
  it('adds 0.10 and 0.20 to exactly 0.30 (bigint cents, never floats)', () => {
    const s = fold([created, ev(2, 'OrderItemAdded', { sku: 'B', quantity: 1, price: '0.20' })]);
    expect(s.totalCents).toBe(30n);
    expect(orderRows(s)?.order.total_amount).toBe('0.30');
  });

  it('keeps every digit of totals beyond 2^53 cents', () => {
    const s = fold([created, ev(2, 'OrderItemAdded', { sku: 'B', quantity: 1_000_000, price: '99999999.99' })]);
    expect(orderRows(s)?.order.total_amount).toBe('99999999990000.10');
  });

  it("takes updated_at from the updatedAt an event carries (legacy's, through responseData), else its recordedAt", () => {
    const s = fold([
      created,
      ev(2, 'OrderUpdated', { customerId: 'cust-2', updatedAt: '2024-03-02T01:59:59.999999Z' }, '2024-03-02T02:00:00.000002Z'),
      ev(3, 'OrderItemAdded', { sku: 'B', quantity: 1, price: '0.20', updatedAt: '2024-03-02 02:30:00.00001' }),
    ]);
    expect(orderRows(s)?.order.updated_at).toBe('2024-03-02T02:30:00.000010Z');
    const paid = fold([
      created,
      ev(2, 'OrderPaid', { updatedAt: '2024-03-02T02:59:59.5Z' }),
      ev(3, 'OrderCancelled', {}, '2024-03-02T04:00:00.000004Z'),
    ]);
    expect(orderRows(paid)?.order.updated_at).toBe('2024-03-02T04:00:00.000004Z');
  });

  it('follows status changes and updates, with updated_at from the event that changed the order', () => {
    const s = fold([
      created,
      ev(2, 'OrderUpdated', { customerId: 'cust-2' }, '2024-03-02T02:00:00.000002Z'),
      ev(3, 'OrderPaid', {}, '2024-03-02T03:00:00.000003Z'),
    ]);
    expect(orderRows(s)?.order).toEqual({
      id: 'ord_1',
      customer_id: 'cust-2',
      status: 'PAID',
      total_amount: '0.10',
      created_at: '2024-03-02T01:01:07.000010Z',
      updated_at: '2024-03-02T03:00:00.000003Z',
    });
    expect(fold([created, ev(2, 'OrderCancelled', {})]).status).toBe('CANCELLED');
    expect(fold([created, ev(2, 'OrderUpdated', { status: 'PAID' })]).status).toBe('PAID');
  });

  it('lists items sorted by sku with quantity and price as text', () => {
    const s = fold([created, ev(2, 'OrderItemAdded', { sku: '0-first', quantity: 3, price: 2 })]);
    expect(orderRows(s)?.items).toEqual([
      { sku: '0-first', quantity: '3', price: '2.00' },
      { sku: 'A', quantity: '1', price: '0.10' },
    ]);
  });

  it("reconciliation's corrective events: the after-image sets every field and keeps the items; a removal deletes", () => {
    const image = {
      id: 'ord_1',
      customer_id: 'cust-9',
      status: 'PAID',
      total_amount: '7.50',
      created_at: '2024-01-01T00:00:00.000001Z',
      updated_at: '2024-01-02T00:00:00.000002Z',
    };
    const repaired = fold([created, ev(2, 'StranglerRowRepaired', image)]);
    expect(orderRows(repaired)?.order).toMatchObject({
      customer_id: 'cust-9',
      status: 'PAID',
      total_amount: '7.50',
      created_at: '2024-01-01T00:00:00.000001Z',
      updated_at: '2024-01-02T00:00:00.000002Z',
    });
    expect(orderRows(repaired)?.items).toEqual([{ sku: 'A', quantity: '1', price: '0.10' }]);
    // A row legacy has and the log never created (older than dual-write) appears with no items.
    const fromNothing = fold([ev(1, 'StranglerRowRepaired', image)]);
    expect(orderRows(fromNothing)).toMatchObject({ order: { id: 'ord_1', total_amount: '7.50' }, items: [] });
    expect(orderRows(fold([created, ev(2, 'StranglerRowRemoved', {})]))).toBeNull();
  });

  it('a deleted order has no rows', () => {
    const s = fold([created, ev(2, 'OrderDeleted', {})]);
    expect(s.deleted).toBe(true);
    expect(orderRows(s)).toBeNull();
  });

  it('refuses an event whose amount is not a decimal, naming the event', () => {
    expect(() => fold([created, ev(2, 'OrderItemAdded', { sku: 'B', quantity: 1, price: '0.125' })])).toThrow(
      /OrderItemAdded at orders-ord_1@2/,
    );
  });

  it('serialize → deserialize gives back an equal state', () => {
    const s = fold([created, ev(2, 'OrderItemAdded', { sku: 'B', quantity: 2, price: '19.99' })]);
    const json = JSON.parse(JSON.stringify(orderAggregate.serialize(s)));
    expect(orderAggregate.deserialize(json)).toEqual(s);
  });
});
