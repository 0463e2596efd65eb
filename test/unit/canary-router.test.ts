import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BUCKETS, bucketOf, readsFromModel } from '../../src/canary/stickyRouter.ts';
import { seededRandom } from '../helpers/seed.ts';

const KEYS = 100_000;

describe('sticky routing: 10,000 buckets by a salted hash of the key', () => {
  const rand = seededRandom('canary-router');
  // Keys shaped like the ones users configure: UUID-like ids and e-mail-like names.
  const hex = (n: number) => Array.from({ length: n }, () => rand.int(0, 16).toString(16)).join('');
  const keys = Array.from({ length: KEYS }, (_, i) =>
    i % 2 ? `${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}` : `user${rand.int(0, 1e9)}@example.com`,
  );
  const buckets = keys.map((k) => bucketOf('orders', k));

  it.each([10, 25, 50, 100])('at %i %% the share of 100,000 keys read from the read model is within ±0.5 points', (percent) => {
    const moved = buckets.filter((b) => readsFromModel({ stage: percent === 100 ? 'complete' : 'canary', percent }, b)).length;
    expect(Math.abs((moved / KEYS) * 100 - percent)).toBeLessThanOrEqual(0.5);
  });

  it('sequential keys (user-1, user-2, …) spread as evenly as random ones', () => {
    const seq = Array.from({ length: KEYS }, (_, i) => bucketOf('orders', `user-${i}`));
    for (const percent of [10, 25, 50]) {
      const moved = seq.filter((b) => b < percent * 100).length;
      expect(Math.abs((moved / KEYS) * 100 - percent)).toBeLessThanOrEqual(0.5);
    }
  });

  it('is monotone: every key on the read model at 10 % is still there at 25 % and 50 %', () => {
    const at = (percent: number) => new Set(keys.filter((_, i) => readsFromModel({ stage: 'canary', percent }, buckets[i]!)));
    const [ten, quarter, half] = [at(10), at(25), at(50)];
    expect(ten.size).toBeGreaterThan(0);
    for (const k of ten) expect(quarter.has(k)).toBe(true);
    for (const k of quarter) expect(half.has(k)).toBe(true);
  });

  it('the salt is per entity: the same keys land in other buckets for another entity', () => {
    const other = keys.slice(0, 1000).map((k) => bucketOf('customers', k));
    const same = other.filter((b, i) => b === buckets[i]).length;
    expect(same).toBeLessThan(20); // ~0.1 expected by chance per key
  });

  it('buckets are in range, and the stage decides before the percent', () => {
    expect(buckets.every((b) => Number.isInteger(b) && b >= 0 && b < BUCKETS)).toBe(true);
    expect(readsFromModel({ stage: 'shadow', percent: 50 }, 0)).toBe(false);
    expect(readsFromModel({ stage: 'dual_write', percent: 0 }, 0)).toBe(false);
    expect(readsFromModel({ stage: 'complete', percent: 100 }, BUCKETS - 1)).toBe(true);
    expect(readsFromModel({ stage: 'canary', percent: 0.01 }, 0)).toBe(true);
    expect(readsFromModel({ stage: 'canary', percent: 0.01 }, 1)).toBe(false);
  });

  it('another process computes the same bucket for every key (replicas agree)', () => {
    const sample = keys.slice(0, 5000);
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'test/fixtures/canary/buckets.ts', 'orders'], {
      input: sample.join('\n'),
      encoding: 'utf8',
    });
    expect(JSON.parse(out)).toEqual(buckets.slice(0, 5000));
  });
});
