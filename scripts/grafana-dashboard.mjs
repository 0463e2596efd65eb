#!/usr/bin/env node
// Builds the Grafana dashboard k8s/grafana-dashboard.json from the metrics catalogue in
// docs/metrics.md: one row per group of families, one panel per family, its query chosen by
// the family's type and labels. The output is committed (Kubernetes takes it as a ConfigMap);
// regenerate it after changing the catalogue:
//   node scripts/grafana-dashboard.mjs            write k8s/grafana-dashboard.json
//   node scripts/grafana-dashboard.mjs --check    exit 1 when the committed file is stale
// --doc FILE and --out FILE read and write other files (tests use them).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Families of the `metrics-table` block: name, type, labels, meaning. */
export function readFamilies(text) {
  const start = text.indexOf('<!-- metrics-table:start -->');
  const end = text.indexOf('<!-- metrics-table:end -->');
  if (start < 0 || end < start) throw new Error('docs/metrics.md has no metrics-table markers');
  const names = (cell) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
  return text
    .slice(start, end)
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .slice(2) // header and separator
    .map((line) => {
      const cells = line
        .slice(1, -1)
        .split(' | ')
        .map((c) => c.trim());
      if (cells.length !== 5) throw new Error(`docs/metrics.md: a family row needs 5 cells: ${line}`);
      const [name, type, labels, meaning] = cells;
      return { name: names(name)[0], type, labels: names(labels), meaning: meaning.replaceAll('`', '') };
    });
}

// Rows of the dashboard, by the word after `strangler_`; a family of a new group lands in "Other".
const GROUPS = [
  ['Proxy', ['proxy']],
  ['Appends and capture', ['events', 'append', 'appends', 'capture']],
  ['Spool', ['spool']],
  ['Event store', ['eventstore']],
  ['Projections', ['projection']],
  ['Reconciliation', ['reconciliation']],
  ['Canary and shadow reads', ['canary', 'reads', 'read', 'shadow']],
  ['Guard', ['guard']],
];
const groupOf = (name) => GROUPS.find(([, words]) => words.includes(name.split('_')[1]))?.[0] ?? 'Other';

function unitOf(f) {
  if (f.name.endsWith('_timestamp_seconds')) return 'dateTimeFromNow';
  if (f.name.endsWith('_seconds')) return 's';
  if (f.name.endsWith('_milliseconds')) return 'ms';
  if (f.name.endsWith('_rate')) return 'percentunit';
  if (f.type === 'counter') return 'ops';
  return 'short';
}

/** The PromQL of a family's panel and its legend. */
function target(f) {
  const by = (extra = []) => {
    const labels = [...extra, ...f.labels];
    return labels.length ? ` by (${labels.join(', ')})` : '';
  };
  const legend = f.labels.map((l) => `{{${l}}}`).join(' ');
  if (f.type === 'counter') return { expr: `sum${by()} (rate(${f.name}[$__rate_interval]))`, legend: legend || 'per second' };
  if (f.type === 'histogram')
    return {
      expr: `histogram_quantile(0.99, sum${by(['le'])} (rate(${f.name}_bucket[$__rate_interval])))`,
      legend: `p99 ${legend}`.trim(),
    };
  // A gauge without labels is per replica (spool depth, tunnels open): one series per pod.
  if (f.labels.length === 0) return { expr: f.name, legend: '{{pod}}' };
  return { expr: `max${by()} (${f.name})`, legend };
}

export function buildDashboard(families) {
  const panels = [];
  let id = 1;
  let y = 0;
  const groups = [...GROUPS.map(([title]) => title), 'Other'];
  for (const title of groups) {
    const members = families.filter((f) => groupOf(f.name) === title);
    if (members.length === 0) continue;
    panels.push({ id: id++, type: 'row', title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y: y++ }, panels: [] });
    members.forEach((f, i) => {
      const { expr, legend } = target(f);
      panels.push({
        id: id++,
        type: 'timeseries',
        title: f.name,
        description: f.meaning,
        datasource: { type: 'prometheus', uid: '${datasource}' },
        gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: y + Math.floor(i / 2) * 8 },
        fieldConfig: { defaults: { unit: unitOf(f) }, overrides: [] },
        options: { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'desc' } },
        targets: [{ refId: 'A', datasource: { type: 'prometheus', uid: '${datasource}' }, expr, legendFormat: legend }],
      });
    });
    y += Math.ceil(members.length / 2) * 8;
  }
  return {
    title: 'Strangler sidecar',
    uid: 'strangler-sidecar',
    description: 'Generated from docs/metrics.md by scripts/grafana-dashboard.mjs; do not edit by hand.',
    tags: ['strangler'],
    editable: true,
    schemaVersion: 39,
    version: 1,
    refresh: '30s',
    time: { from: 'now-6h', to: 'now' },
    timezone: 'utc',
    templating: {
      list: [{ name: 'datasource', label: 'Prometheus', type: 'datasource', query: 'prometheus', current: {}, hide: 0 }],
    },
    annotations: { list: [] },
    panels,
  };
}

/** The dashboard as committed: JSON formatted by the repository's Prettier settings. */
export async function renderDashboard(docText, outFile) {
  const prettier = await import('prettier');
  const text = JSON.stringify(buildDashboard(readFamilies(docText)), null, 2);
  return prettier.format(text, { ...(await prettier.resolveConfig(outFile)), filepath: outFile });
}

async function cli(argv) {
  const option = (name, fallback) => {
    const i = argv.indexOf(name);
    return i >= 0 && argv[i + 1] ? path.resolve(argv[i + 1]) : fallback;
  };
  const doc = option('--doc', path.join(root, 'docs/metrics.md'));
  const out = option('--out', path.join(root, 'k8s/grafana-dashboard.json'));
  const rendered = await renderDashboard(readFileSync(doc, 'utf8'), out);
  const shown = path.relative(process.cwd(), out) || out;
  if (argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(out, 'utf8');
    } catch {
      // a missing file is stale too
    }
    if (current !== rendered) {
      console.error(`${shown} is stale: docs/metrics.md changed. Run: node scripts/grafana-dashboard.mjs`);
      return 1;
    }
    console.log(`${shown}: up to date`);
    return 0;
  }
  writeFileSync(out, rendered);
  console.log(`wrote ${shown}`);
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url))
  process.exitCode = await cli(process.argv.slice(2));
