import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Executor } from '../../src/db/executor.ts';
import { createPgliteExecutor } from '../../src/db/pgliteExecutor.ts';
import { migrate, startLegacyOrders, type RunningLegacyOrders } from '../../examples/legacy-orders/index.ts';
import { formatCents, parseCents } from '../../examples/legacy-orders/money.ts';
import { isoFromDb, toDbTimestamp } from '../../examples/legacy-orders/time.ts';
import { canTransition } from '../../examples/legacy-orders/validation.ts';
import { legacyOrdersScenario } from './legacy-orders.scenario.ts';

describe('legacy-orders on in-memory PGlite', () => {
  let db: Executor;
  let service: RunningLegacyOrders;

  beforeAll(async () => {
    db = await createPgliteExecutor({});
    await migrate(db);
    await migrate(db); // idempotent: the service runs it at every start
    service = await startLegacyOrders({ db });
  });

  afterAll(async () => {
    await service?.close();
    await db?.close();
  });

  legacyOrdersScenario(() => ({ url: service.url, db }));
});

describe('legacy-orders money and time helpers', () => {
  it('parses amounts into integer cents and prints them with two decimals', () => {
    expect(parseCents('0.1')).toBe(10n);
    expect(parseCents(0.2)).toBe(20n);
    expect(parseCents('12')).toBe(1200n);
    expect(parseCents('9999999999.99')).toBe(999_999_999_999n);
    for (const bad of ['-1', '1e3', '0.125', '', ' 1', 'abc', Number.NaN, Infinity, null, true]) {
      expect(parseCents(bad), String(bad)).toBeUndefined();
    }
    expect(formatCents(30n)).toBe('0.30');
    expect(formatCents(123456n)).toBe('1234.56');
    expect(formatCents(0n)).toBe('0.00');
  });

  it('writes and reads UTC microsecond timestamps in every driver format', () => {
    expect(toDbTimestamp(1_709_341_267_000_010n)).toBe('2024-03-02 01:01:07.000010');
    expect(isoFromDb('2024-03-02 01:01:07.00001')).toBe('2024-03-02T01:01:07.000010Z');
    expect(isoFromDb('2024-03-02 01:01:07.000010')).toBe('2024-03-02T01:01:07.000010Z');
    expect(isoFromDb('2024-03-02 01:01:07')).toBe('2024-03-02T01:01:07.000000Z');
  });

  it('allows CREATED→PAID, CREATED→CANCELLED and PAID→CANCELLED only', () => {
    expect(canTransition('CREATED', 'PAID')).toBe(true);
    expect(canTransition('CREATED', 'CANCELLED')).toBe(true);
    expect(canTransition('PAID', 'CANCELLED')).toBe(true);
    expect(canTransition('PAID', 'CREATED')).toBe(false);
    expect(canTransition('CANCELLED', 'PAID')).toBe(false);
    expect(canTransition('CANCELLED', 'CREATED')).toBe(false);
  });
});
