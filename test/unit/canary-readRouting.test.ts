import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { hasApplied } from '../../src/canary/freshness.ts';
import { cookieValue, overrideOf, queryValue, routeRead, stickyKeyOf } from '../../src/canary/readRouting.ts';
import { bucketOf } from '../../src/canary/stickyRouter.ts';
import { seededRandom } from '../helpers/seed.ts';

const req = (headers: Record<string, string>, url = '/orders/o1', remoteAddress = '10.1.2.3') =>
  ({ headers, url, socket: { remoteAddress } }) as unknown as IncomingMessage;

describe('sticky key extraction', () => {
  it('cookie: the named pair, spaces and quotes aside, not a cookie whose name only starts or ends with it', () => {
    expect(cookieValue('sid=abc', 'sid')).toBe('abc');
    expect(cookieValue('a=1; sid=abc; b=2', 'sid')).toBe('abc');
    expect(cookieValue('a=1;sid=abc', 'sid')).toBe('abc');
    expect(cookieValue('sidx=1; xsid=2; sid=3', 'sid')).toBe('3');
    expect(cookieValue('sid="quoted v"', 'sid')).toBe('quoted v');
    expect(cookieValue('sid = spaced ; b=2', 'sid')).toBe('spaced');
    expect(cookieValue('sid=first; sid=second', 'sid')).toBe('first');
    expect(cookieValue('a=1; b=2', 'sid')).toBeUndefined();
    expect(cookieValue('sid=', 'sid')).toBeUndefined();
    expect(cookieValue('sid; a=sid=1', 'sid')).toBeUndefined();
    expect(cookieValue('', 'sid')).toBeUndefined();
  });

  it('query: the first value, decoded as URLSearchParams decodes it', () => {
    expect(queryValue('/orders?customerId=c1', 'customerId')).toBe('c1');
    expect(queryValue('/orders?a=1&customerId=c%201&customerId=c2', 'customerId')).toBe('c 1');
    expect(queryValue('/orders?customer+id=a+b', 'customer id')).toBe('a b');
    expect(queryValue('/orders?customerIdx=1', 'customerId')).toBeUndefined();
    expect(queryValue('/orders?customerId', 'customerId')).toBeUndefined();
    expect(queryValue('/orders?customerId=', 'customerId')).toBeUndefined();
    expect(queryValue('/orders', 'customerId')).toBeUndefined();
    expect(queryValue('/orders?customerId=%E0%A4%A', 'customerId')).toBe('%E0%A4%A'); // malformed: as sent
    const rand = seededRandom('queryValue against URLSearchParams');
    const chars = 'ab =&%+é1';
    for (let i = 0; i < 500; i++) {
      const value = Array.from({ length: rand.int(1, 8) }, () => rand.pick([...chars])).join('');
      const url = `/x?${new URLSearchParams([
        ['k', value],
        ['other', 'y'],
      ]).toString()}`;
      expect(queryValue(url, 'k')).toBe(value);
    }
  });

  it('each source, and an empty value counts as no key', () => {
    const r = req({ 'x-user-id': 'u1', cookie: 'sid=s1' }, '/orders/o1?tenant=t1');
    expect(stickyKeyOf({ source: 'header', name: 'x-user-id' }, r, {})).toBe('u1');
    expect(stickyKeyOf({ source: 'header', name: 'x-other' }, r, {})).toBeUndefined();
    expect(stickyKeyOf({ source: 'header', name: 'x-user-id' }, req({ 'x-user-id': '' }), {})).toBeUndefined();
    expect(stickyKeyOf({ source: 'cookie', name: 'sid' }, r, {})).toBe('s1');
    expect(stickyKeyOf({ source: 'cookie', name: 'sid' }, req({}), {})).toBeUndefined();
    expect(stickyKeyOf({ source: 'param', name: 'id' }, r, { id: 'o1' })).toBe('o1');
    expect(stickyKeyOf({ source: 'param', name: 'id' }, r, {})).toBeUndefined();
    expect(stickyKeyOf({ source: 'query', name: 'tenant' }, r, {})).toBe('t1');
    expect(stickyKeyOf({ source: 'address', name: '' }, r, {})).toBe('10.1.2.3');
    // The socket's address, never X-Forwarded-For (a client could pick its side with it).
    expect(stickyKeyOf({ source: 'address', name: '' }, req({ 'x-forwarded-for': '1.1.1.1' }, '/', '::1'), {})).toBe('::1');
  });
});

describe('routeRead', () => {
  it('complete reads every key (and no key) from the read model; shadow and dual_write none; canary by bucket, no key to legacy', () => {
    expect(routeRead({ stage: 'complete', percent: 100 }, 'orders', undefined)).toMatchObject({ source: 'read-model', outcome: 'served' });
    expect(routeRead({ stage: 'shadow', percent: 0 }, 'orders', 'k')).toMatchObject({ source: 'legacy', outcome: 'routed' });
    expect(routeRead({ stage: 'dual_write', percent: 0 }, 'orders', 'k')).toMatchObject({ source: 'legacy', outcome: 'routed' });
    expect(routeRead({ stage: 'canary', percent: 50 }, 'orders', undefined)).toMatchObject({ source: 'legacy', outcome: 'no_key' });
    for (let i = 0; i < 1000; i++) {
      const key = `user-${i}`;
      const inModel = bucketOf('orders', key) < 2500;
      expect(routeRead({ stage: 'canary', percent: 25 }, 'orders', key).source).toBe(inModel ? 'read-model' : 'legacy');
    }
  });

  it('override: readmodel or legacy picks the side; anything else routes normally', () => {
    expect(overrideOf('readmodel')).toMatchObject({ source: 'read-model', outcome: 'override' });
    expect(overrideOf('legacy')).toMatchObject({ source: 'legacy', outcome: 'override' });
    expect(overrideOf('READMODEL')).toBeNull();
    expect(overrideOf(undefined)).toBeNull();
  });
});

describe('hasApplied: (transaction_id, position) order with xid8 as decimal text', () => {
  it('compares transaction ids as numbers, then positions', () => {
    expect(hasApplied({ transactionId: '1000', position: 1 }, { transactionId: '999', position: 50 })).toBe(true);
    expect(hasApplied({ transactionId: '999', position: 50 }, { transactionId: '1000', position: 1 })).toBe(false);
    expect(hasApplied({ transactionId: '1000', position: 7 }, { transactionId: '1000', position: 7 })).toBe(true);
    expect(hasApplied({ transactionId: '1000', position: 6 }, { transactionId: '1000', position: 7 })).toBe(false);
    expect(hasApplied({ transactionId: '2000', position: 1 }, { transactionId: '1999', position: 9 })).toBe(true);
  });
});
