import type { CanaryState } from './stages.ts';

/** Keys fall into this many buckets; a percent reads buckets [0, percent × 100) from the read model. */
export const BUCKETS = 10_000;

/**
 * The bucket of a key under an entity's salt: FNV-1a over the salt, a separator and the
 * key's UTF-16 code units, then murmur3's finaliser so that similar keys (user-1, user-2)
 * spread evenly. Pure and process-independent, so every replica puts a key in the same
 * bucket; no crypto hash, as it runs on every read (~1 µs for sha256 against ~50 ns here).
 */
export function bucketOf(salt: string, key: string): number {
  let h = 0x811c9dc5;
  h = fnv(h, salt);
  h = Math.imul(h ^ 0x1f, 0x01000193);
  h = fnv(h, key);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) % BUCKETS;
}

function fnv(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h;
}

/**
 * Whether a key's read goes to the read model at this state. Monotone in percent: a bucket
 * below 10 × 100 is below 25 × 100, so a key moved at 10 % stays moved at 25 %. Exact in
 * share up to the hash's evenness (no cookie that drifts towards one side).
 */
export function readsFromModel(state: Pick<CanaryState, 'stage' | 'percent'>, bucket: number): boolean {
  if (state.stage === 'complete') return true;
  if (state.stage !== 'canary') return false;
  return bucket < Math.round(state.percent * 100);
}
