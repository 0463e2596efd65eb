/**
 * Randomness in tests comes from a seed the test prints and accepts back, so a failure can be
 * replayed: STRANGLER_TEST_SEED=<seed> npx vitest run <file>. Without it, a fresh seed per call.
 *
 *   const rand = seededRandom('exactly-once kill points');
 *   rand()            // [0, 1), like Math.random
 *   rand.int(10, 20)  // integer in [10, 20)
 */
export interface SeededRandom {
  (): number;
  /** An integer in [min, max). */
  int(min: number, max: number): number;
  /** One element of a non-empty list. */
  pick<T>(list: readonly T[]): T;
  readonly seed: number;
}

/** mulberry32: small, fast, good enough to choose kill points and data. A stream of its own per derived seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed from STRANGLER_TEST_SEED, or a new one; printed with `what` so the run can be replayed. */
export function seededRandom(what: string): SeededRandom {
  const fromEnv = process.env['STRANGLER_TEST_SEED'];
  const seed = fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) >>> 0 : Math.floor(Math.random() * 2 ** 32);
  if (fromEnv !== undefined && fromEnv !== '' && !Number.isFinite(Number(fromEnv)))
    throw new Error(`STRANGLER_TEST_SEED must be an integer, got ${JSON.stringify(fromEnv)}. Example: STRANGLER_TEST_SEED=12345`);
  console.log(`${what}: seed ${seed} (replay with STRANGLER_TEST_SEED=${seed})`);
  const next = prng(seed);
  const rand = (() => next()) as SeededRandom;
  rand.int = (min, max) => min + Math.floor(next() * (max - min));
  rand.pick = (list) => list[Math.floor(next() * list.length)]!;
  Object.defineProperty(rand, 'seed', { value: seed });
  return rand;
}
