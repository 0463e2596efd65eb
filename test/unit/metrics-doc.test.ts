import fs from 'node:fs';
import path from 'node:path';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics/metrics.ts';
import { readMetricsDoc } from '../helpers/metricsDoc.ts';

// docs/metrics.md and the registry agree both ways: every family the sidecar registers is
// documented with its type and label names, and every documented family is registered. The
// default Node.js metrics are documented as a group (their set depends on the platform).
interface RegisteredFamily {
  name: string;
  type: string;
  labels: string[];
}

function registered(registry: Registry): RegisteredFamily[] {
  return registry.getMetricsAsArray().map((m) => {
    const metric = m as unknown as { name: string; type: string; labelNames?: readonly string[] };
    return { name: metric.name, type: metric.type, labels: [...(metric.labelNames ?? [])] };
  });
}

const defaults = new Registry();
collectDefaultMetrics({ register: defaults, prefix: 'strangler_' });
const defaultNames = new Set(registered(defaults).map((f) => f.name));
const product = registered(createMetrics(new Registry(), { defaults: true }).registry).filter((f) => !defaultNames.has(f.name));
const doc = readMetricsDoc();

describe('docs/metrics.md', () => {
  it('documents every registered family with its type and label names', () => {
    expect(product.length).toBeGreaterThan(30);
    const documented = new Map(doc.families.map((f) => [f.name, f]));
    const problems: string[] = [];
    for (const f of product) {
      const row = documented.get(f.name);
      const labels = (l: string[]) => [...l].sort().join(',') || '—';
      if (!row) problems.push(`${f.name}: registered, not documented`);
      else if (row.type !== f.type) problems.push(`${f.name}: documented as ${row.type}, registered as ${f.type}`);
      else if (labels(row.labels) !== labels(f.labels))
        problems.push(`${f.name}: documented labels ${labels(row.labels)}, registered ${labels(f.labels)}`);
    }
    expect(problems).toEqual([]);
  });

  it('registers every documented family, once', () => {
    const names = doc.families.map((f) => f.name);
    expect(new Set(names).size, 'a family documented twice').toBe(names.length);
    const registeredNames = new Set(product.map((f) => f.name));
    expect(names.filter((n) => !registeredNames.has(n))).toEqual([]);
  });

  it('names every family strangler_; the default Node.js metrics are strangler_process_* and strangler_nodejs_*', () => {
    expect(product.filter((f) => !f.name.startsWith('strangler_'))).toEqual([]);
    expect(defaultNames.size).toBeGreaterThan(0);
    expect([...defaultNames].filter((n) => !/^strangler_(process|nodejs)_/.test(n))).toEqual([]);
    expect(doc.families.filter((f) => /^strangler_(process|nodejs)_/.test(f.name))).toEqual([]);
  });

  it('includes the seed event-store health metrics: total events, projection lag in events, consistency errors by type, check duration', () => {
    const byName = new Map(doc.families.map((f) => [f.name, f]));
    expect(byName.get('strangler_eventstore_events')).toMatchObject({ type: 'gauge', labels: [] });
    expect(byName.get('strangler_projection_lag_events')).toMatchObject({ type: 'gauge', labels: ['projection'] });
    expect(byName.get('strangler_eventstore_consistency_errors')).toMatchObject({ type: 'gauge', labels: ['check'] });
    expect(byName.get('strangler_eventstore_health_check_duration_seconds')).toMatchObject({ type: 'histogram', labels: [] });
  });

  it('names only alerts of the alerts table, and the alerts table names the families that list them', () => {
    const fromFamilies = doc.families.flatMap((f) => f.alerts.map((a) => `${a} ${f.name}`)).sort();
    const fromAlerts = doc.alerts.flatMap((a) => a.families.map((f) => `${a.name} ${f}`)).sort();
    expect(fromFamilies).toEqual(fromAlerts);
    expect(doc.alerts.map((a) => a.name)).toEqual(expect.arrayContaining(['StranglerEventStoreConsistencyErrors', 'StranglerGuardActed']));
    for (const a of doc.alerts) expect(a.name).toMatch(/^Strangler[A-Z]\w+$/);
  });
});

describe('one registry', () => {
  it('creates every metric in src/metrics/metrics.ts: no prom-client metric is constructed elsewhere in src/', () => {
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (p.endsWith('.ts') && p !== path.join('src', 'metrics', 'metrics.ts')) {
          const text = fs.readFileSync(p, 'utf8');
          if (/new (Counter|Gauge|Histogram|Summary)\b|collectDefaultMetrics|registers:/.test(text)) offenders.push(p);
        }
      }
    };
    walk('src');
    expect(offenders).toEqual([]);
  });
});
