import type { ReadObservation, ReadStats, ShadowResult } from '../canary/readStats.ts';

/**
 * Upper bounds (ms) of the fixed latency buckets every replica counts in, so buckets can
 * be summed across replicas and a p99 read from the sum (the bucket's upper bound; the last
 * bucket is "above 10 s"). Roughly 25 % apart: a p99 is known within a quarter.
 */
export const LATENCY_BUCKETS_MS: readonly number[] = (() => {
  const out: number[] = [];
  for (let b = 0.1; b < 10_000; b *= 1.25) out.push(Number(b.toPrecision(3)));
  out.push(10_000);
  return out;
})();

/** What one replica saw for one entity since its last publish (or what the leader summed). */
export interface EntityCounts {
  /** Every routed read (either side). */
  reads: number;
  /** Reads the read model was asked to answer (served, error, timeout). */
  rmReads: number;
  /** Of those, errors and timeouts (legacy answered instead). */
  rmFailures: number;
  /** Shadow comparisons that gave a verdict (match + mismatch). */
  compared: number;
  mismatches: number;
  /** Counts per LATENCY_BUCKETS_MS bucket (+1 for above the last). */
  rmLatency: number[];
  legacyLatency: number[];
}

export function emptyCounts(): EntityCounts {
  const n = LATENCY_BUCKETS_MS.length + 1;
  return {
    reads: 0,
    rmReads: 0,
    rmFailures: 0,
    compared: 0,
    mismatches: 0,
    rmLatency: new Array<number>(n).fill(0),
    legacyLatency: new Array<number>(n).fill(0),
  };
}

export function isEmpty(c: EntityCounts): boolean {
  return c.reads === 0 && c.compared === 0;
}

export function addCounts(into: EntityCounts, c: EntityCounts): EntityCounts {
  into.reads += c.reads;
  into.rmReads += c.rmReads;
  into.rmFailures += c.rmFailures;
  into.compared += c.compared;
  into.mismatches += c.mismatches;
  for (let i = 0; i < into.rmLatency.length; i++) into.rmLatency[i]! += c.rmLatency[i] ?? 0;
  for (let i = 0; i < into.legacyLatency.length; i++) into.legacyLatency[i]! += c.legacyLatency[i] ?? 0;
  return into;
}

export function bucketOf(ms: number): number {
  let lo = 0;
  let hi = LATENCY_BUCKETS_MS.length;
  // First bucket whose upper bound is ≥ ms; LATENCY_BUCKETS_MS.length = above the last.
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (LATENCY_BUCKETS_MS[mid]! >= ms) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The q-quantile (0.99) of a bucket histogram, as its bucket's upper bound in ms; null when empty. */
export function quantileMs(buckets: readonly number[], q: number): number | null {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    seen += buckets[i]!;
    if (seen >= rank) return LATENCY_BUCKETS_MS[i] ?? LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1]! * 2;
  }
  return null;
}

const READ_MODEL_ASKED = new Set(['served', 'error', 'timeout']);

export interface GuardStats extends ReadStats {
  /** What was counted since the last take, per entity; the counts start again from zero. */
  take(): Map<string, EntityCounts>;
}

/**
 * The ReadStats the read path feeds on this replica: plain counters per entity, taken and
 * published every interval (publish.ts). O(1) per read: a few additions and a bucket search.
 */
export function createGuardStats(): GuardStats {
  let current = new Map<string, EntityCounts>();
  const of = (entity: string) => {
    let c = current.get(entity);
    if (!c) current.set(entity, (c = emptyCounts()));
    return c;
  };
  return {
    read(o: ReadObservation) {
      const c = of(o.entity);
      c.reads++;
      if (READ_MODEL_ASKED.has(o.outcome)) {
        c.rmReads++;
        if (o.outcome !== 'served') c.rmFailures++;
        const rmMs = (o.readModelSeconds ?? o.seconds) * 1000;
        c.rmLatency[bucketOf(rmMs)]!++;
      }
      if (o.source === 'legacy') c.legacyLatency[bucketOf(o.seconds * 1000)]!++;
    },
    shadow(entity: string, _route: string, result: ShadowResult) {
      if (result !== 'match' && result !== 'mismatch') return;
      const c = of(entity);
      c.compared++;
      if (result === 'mismatch') c.mismatches++;
    },
    take() {
      const taken = current;
      current = new Map();
      return taken;
    },
  };
}
