import { describe, expect, it } from 'vitest';
import { captureEventId } from '../../src/capture/eventId.ts';

const parts = { entity: 'orders', route: 'POST /orders/:id/pay', streamId: 'orders-ord_1', index: 0 };
const UUID_V8 = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('captureEventId', () => {
  it('the same Idempotency-Key on the same stream gives the same id (a client retry stores one event)', () => {
    expect(captureEventId('key-1', parts)).toBe(captureEventId('key-1', { ...parts }));
  });

  it('a different stream, key, route or index gives a different id', () => {
    const base = captureEventId('key-1', parts);
    expect(captureEventId('key-1', { ...parts, streamId: 'orders-ord_2' })).not.toBe(base);
    expect(captureEventId('key-2', parts)).not.toBe(base);
    expect(captureEventId('key-1', { ...parts, route: 'POST /orders/:id/cancel' })).not.toBe(base);
    expect(captureEventId('key-1', { ...parts, index: 1 })).not.toBe(base);
    expect(captureEventId('key-1', { ...parts, entity: 'invoices' })).not.toBe(base);
  });

  it('a derived id is a valid RFC 9562 version-8 UUID', () => {
    for (const key of ['k', 'key-1', 'a much longer idempotency key with spaces ✓']) {
      expect(captureEventId(key, parts)).toMatch(UUID_V8);
    }
  });

  it('without an Idempotency-Key every id is a fresh time-ordered UUID (version 7)', () => {
    const before = Date.now();
    const a = captureEventId(undefined, parts);
    const b = captureEventId(undefined, parts);
    expect(a).toMatch(UUID_V7);
    expect(b).toMatch(UUID_V7);
    expect(a).not.toBe(b);
    expect(captureEventId('', parts)).toMatch(UUID_V7);
    // The first 48 bits are the creation time in Unix milliseconds.
    const ms = parseInt(a.replace(/-/g, '').slice(0, 12), 16);
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(Date.now());
  });
});
