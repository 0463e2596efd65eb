import { afterEach, describe, expect, it, vi } from 'vitest';
import { seededRandom } from '../helpers/seed.ts';

describe('seeded test randomness', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('replays the same sequence from STRANGLER_TEST_SEED', () => {
    vi.stubEnv('STRANGLER_TEST_SEED', '4242');
    const a = seededRandom('a');
    const b = seededRandom('b');
    const xs = Array.from({ length: 20 }, () => a.int(0, 1000));
    expect(Array.from({ length: 20 }, () => b.int(0, 1000))).toEqual(xs);
    expect(a.seed).toBe(4242);
    expect(new Set(xs).size).toBeGreaterThan(10); // not constant
  });

  it('stays in range', () => {
    vi.stubEnv('STRANGLER_TEST_SEED', '7');
    const r = seededRandom('range');
    for (let i = 0; i < 1000; i++) {
      const x = r();
      expect(x >= 0 && x < 1).toBe(true);
      const n = r.int(5, 9);
      expect(n >= 5 && n < 9 && Number.isInteger(n)).toBe(true);
    }
  });

  it('refuses a seed that is not a number, naming the variable', () => {
    vi.stubEnv('STRANGLER_TEST_SEED', 'abc');
    expect(() => seededRandom('bad')).toThrow(/STRANGLER_TEST_SEED must be an integer/);
  });
});
