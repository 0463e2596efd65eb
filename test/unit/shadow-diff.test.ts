import { describe, expect, it } from 'vitest';
import { compareSides, legacyBody, readModelSide, type ComparedSide } from '../../src/canary/shadow/compare.ts';
import {
  ANY_INDEX,
  compileMatcher,
  diffJson,
  formatPath,
  generalise,
  jsonEqual,
  parsePattern,
  MAX_VALUE_CHARS,
} from '../../src/canary/shadow/jsonDiff.ts';
import { seededRandom } from '../helpers/seed.ts';

const matcher = (...paths: string[]) => compileMatcher(paths.map(parsePattern));
const side = (status: number, body: unknown, mediaType: string | null = 'application/json'): ComparedSide => ({
  status,
  mediaType,
  body: legacyBody(Buffer.from(typeof body === 'string' ? body : JSON.stringify(body))),
});
const opts = { ignore: matcher(), noisy: matcher(), limit: 20 };

describe('JSON paths', () => {
  it('parses and prints the config syntax, [*] included', () => {
    expect(parsePattern('$.items[*].price')).toEqual(['items', ANY_INDEX, 'price']);
    expect(parsePattern('$')).toEqual([]);
    expect(formatPath(['items', 2, 'price'])).toBe('$.items[2].price');
    expect(formatPath(['odd key', 0])).toBe('$["odd key"][0]');
    expect(formatPath(generalise(['items', 3, 'servedAt']))).toBe('$.items[*].servedAt');
    expect(() => parsePattern('$.items[x]')).toThrow(/character 8/);
  });

  it('a pattern matches its path and everything under it; [*] matches any index but no key', () => {
    const m = matcher('$.items[*].price');
    expect(m(['items', 4, 'price'])).toBe(true);
    expect(m(['items', 4, 'price', 'amount'])).toBe(true);
    expect(m(['items', 4])).toBe(false);
    expect(m(['items', 'x', 'price'])).toBe(false);
    expect(matcher('$.a[1]')(['a', 2])).toBe(false);
    expect(matcher('$')(['anything', 1])).toBe(true);
  });

  it('agrees with a plain prefix check over random patterns and paths', () => {
    const rand = seededRandom('shadow-diff matcher');
    const keys = ['a', 'b', 'items'];
    const randomPath = () => Array.from({ length: rand.int(0, 5) }, () => (rand() < 0.5 ? rand.pick(keys) : rand.int(0, 3)));
    const naive = (patterns: (string | number | typeof ANY_INDEX)[][], path: (string | number)[]) =>
      patterns.some(
        (p) => p.length <= path.length && p.every((seg, i) => (seg === ANY_INDEX ? typeof path[i] === 'number' : seg === path[i])),
      );
    for (let round = 0; round < 200; round++) {
      const patterns = Array.from({ length: rand.int(1, 5) }, () =>
        randomPath().map((s) => (typeof s === 'number' && rand() < 0.5 ? ANY_INDEX : s)),
      );
      const m = compileMatcher(patterns);
      for (let k = 0; k < 20; k++) {
        const path = randomPath();
        expect(m(path), `${patterns.map(formatPath).join(' ')} vs ${formatPath(path)}`).toBe(naive(patterns, path));
      }
    }
  });
});

describe('diffJson', () => {
  it('ignores key order, at every depth', () => {
    const a = { id: 'o1', items: [{ sku: 'x', qty: 1 }], meta: { a: 1, b: [1, 2] } };
    const b = { meta: { b: [1, 2], a: 1 }, items: [{ qty: 1, sku: 'x' }], id: 'o1' };
    expect(diffJson(a, b).total).toBe(0);
    expect(jsonEqual(a, b)).toBe(true);
  });

  it('names the path and both values of a changed leaf, arrays by index', () => {
    const d = diffJson({ items: [{ price: '1.00' }, { price: '2.50' }] }, { items: [{ price: '1.00' }, { price: '2.5' }] });
    expect(d.diffs).toEqual([{ path: '$.items[1].price', legacy: '2.50', readModel: '2.5' }]);
  });

  it('a missing key differs from null, and shows which side lacks it', () => {
    const d = diffJson({ note: null, a: 1 }, { a: 1, extra: true });
    expect(d.diffs).toEqual([
      { path: '$.extra', readModel: true },
      { path: '$.note', legacy: null },
    ]);
    expect(diffJson({ x: null }, { x: null }).total).toBe(0);
  });

  it('a longer array on one side lists the extra items; a type change is one difference', () => {
    expect(diffJson([1, 2, 3], [1, 2]).diffs).toEqual([{ path: '$[2]', legacy: 3 }]);
    expect(diffJson({ a: [1] }, { a: { 0: 1 } }).diffs).toEqual([{ path: '$.a', legacy: [1], readModel: { 0: 1 } }]);
    expect(diffJson(1, '1').diffs).toEqual([{ path: '$', legacy: 1, readModel: '1' }]);
  });

  it('ignored paths (with [*]) are never compared; noisy ones are counted apart', () => {
    const legacy = {
      servedAt: 't1',
      items: [
        { at: 'a', n: 1 },
        { at: 'b', n: 2 },
      ],
      total: 3,
    };
    const model = {
      servedAt: 't2',
      items: [
        { at: 'x', n: 1 },
        { at: 'y', n: 2 },
      ],
      total: 3,
    };
    expect(diffJson(legacy, model, { ignore: matcher('$.servedAt', '$.items[*].at') }).total).toBe(0);
    const noisy = diffJson(legacy, model, { noisy: matcher('$.servedAt', '$.items[*].at') });
    expect(noisy.total).toBe(0);
    expect(noisy.noisy).toBe(3);
    const partly = diffJson(legacy, { ...model, total: 4 }, { ignore: matcher('$.servedAt'), noisy: matcher('$.items[*].at') });
    expect(partly.diffs).toEqual([{ path: '$.total', legacy: 3, readModel: 4 }]);
  });

  it('lists at most `limit` differences and counts the rest', () => {
    const rand = seededRandom('shadow-diff limit');
    const n = rand.int(30, 60);
    const a = Array.from({ length: n }, (_, i) => i);
    const b = a.map((v) => v + 1);
    const d = diffJson(a, b, { limit: 20 });
    expect(d.diffs).toHaveLength(20);
    expect(d.total).toBe(n);
    expect(d.diffs[19]?.path).toBe('$[19]');
  });

  it('long values are shown as the start of their JSON', () => {
    const long = 'x'.repeat(MAX_VALUE_CHARS + 50);
    const [d] = diffJson({ a: long, b: { big: long } }, { a: 'y', b: 1 }).diffs;
    expect(d?.legacy).toBe(`${'x'.repeat(MAX_VALUE_CHARS)}…`);
    const [, big] = diffJson({ a: long, b: { big: long } }, { a: 'y', b: 1 }).diffs;
    expect(String(big?.legacy)).toMatch(/^\{"big":"xxx.*…$/);
  });
});

describe('compareSides', () => {
  it('equal JSON in another key order and another charset parameter is a match', () => {
    const legacy = side(200, '{"b":2,"a":1}', 'application/json');
    const model = readModelSide({ status: 200, body: { a: 1, b: 2 } });
    expect(compareSides(legacy, model, opts)).toMatchObject({ result: 'match', diffs: [], more: 0 });
  });

  it('a status difference is a mismatch even with equal bodies', () => {
    const c = compareSides(side(404, { error: 'not_found' }), readModelSide({ status: 200, body: { error: 'not_found' } }), opts);
    expect(c).toMatchObject({ result: 'mismatch', status: { legacy: 404, readModel: 200 }, diffs: [] });
  });

  it('a media type difference is a mismatch', () => {
    const c = compareSides(side(200, { a: 1 }, 'text/plain'), readModelSide({ status: 200, body: { a: 1 } }), opts);
    expect(c).toMatchObject({ result: 'mismatch', mediaType: { legacy: 'text/plain', readModel: 'application/json' } });
  });

  it('a body that is not JSON compares as bytes', () => {
    const c = compareSides(
      side(200, 'plain words', 'text/plain'),
      readModelSide({ status: 200, body: 'plain words', contentType: 'text/plain' }),
      opts,
    );
    expect(c.result).toBe('mismatch'); // the read model sends "plain words" as a JSON string, quotes and all
    expect(c.diffs).toEqual([{ path: '$', legacy: 'plain words', readModel: '"plain words"' }]);
  });

  it('dates and undefined fields compare as the client would get them', () => {
    const at = new Date('2026-01-02T03:04:05.000Z');
    const c = compareSides(side(200, { at: at.toISOString() }), readModelSide({ status: 200, body: { at, gone: undefined } }), opts);
    expect(c.result).toBe('match');
  });

  it('differences only in noisy paths make the comparison noisy, not a mismatch', () => {
    const c = compareSides(side(200, { id: 1, servedAt: 'a' }), readModelSide({ status: 200, body: { id: 1, servedAt: 'b' } }), {
      ...opts,
      noisy: matcher('$.servedAt'),
    });
    expect(c.result).toBe('noisy');
  });
});
