import { collectDefaultMetrics, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createMetrics, GC_METRIC } from '../../src/metrics/metrics.ts';

const names = (r: Registry) => r.getMetricsAsArray().map((m) => (m as unknown as { name: string }).name);

// What collectDefaultMetrics registers on this Node (the set depends on the version and platform).
const all = new Registry();
collectDefaultMetrics({ register: all, prefix: 'strangler_' });
const defaults = names(all);

/** Allocates until V8 has collected at least once, then lets pending performance entries be delivered. */
async function collectSomeGarbage(): Promise<void> {
  let keep: unknown[] = [];
  for (let i = 0; i < 400_000; i++) {
    keep.push({ i, s: `x${i}` });
    if (keep.length > 5_000) keep = [];
  }
  await new Promise((r) => setTimeout(r, 50));
}

async function gcObservations(registry: Registry): Promise<number> {
  const metric = registry.getSingleMetric(GC_METRIC);
  if (!metric) return 0;
  const { values } = await metric.get();
  const counts = values.filter((v) => (v as { metricName?: string }).metricName === `${GC_METRIC}_count`);
  return counts.reduce((sum, v) => sum + v.value, 0);
}

describe('Node.js process metrics', () => {
  it('by default: every prom-client default family but the GC histogram, under strangler_', () => {
    expect(defaults).toContain(GC_METRIC);
    const registered = names(createMetrics(new Registry(), { defaults: true }).registry);
    const process = registered.filter((n) => defaults.includes(n));
    expect(process.sort()).toEqual(defaults.filter((n) => n !== GC_METRIC).sort());
    expect(registered).not.toContain(GC_METRIC);
  });

  it('with gc: the GC histogram too, observing collections', async () => {
    const { registry } = createMetrics(new Registry(), { defaults: true, gc: true });
    expect(
      names(registry)
        .filter((n) => defaults.includes(n))
        .sort(),
    ).toEqual([...defaults].sort());
    await collectSomeGarbage();
    expect(await gcObservations(registry)).toBeGreaterThan(0);
  });

  it('without defaults: none of them', () => {
    const registered = names(createMetrics(new Registry()).registry);
    expect(registered.filter((n) => defaults.includes(n))).toEqual([]);
  });
});
