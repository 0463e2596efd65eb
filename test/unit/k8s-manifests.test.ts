import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { createAdminServer } from '../../src/admin/adminServer.ts';
import { missingFiles } from '../../src/config/checkFiles.ts';
import { loadConfig } from '../../src/config/index.ts';
import { maxReportAgeMs } from '../../src/guard/startGuard.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { createMetrics } from '../../src/metrics/metrics.ts';
import {
  allContainers,
  isGenerated,
  K8S_DIR,
  one,
  podSpecs,
  readKustomization,
  renderWithKubectl,
  resolveKustomization,
  selects,
  type Container,
  type K8sObject,
  type PodSpec,
} from '../helpers/k8sManifests.ts';
import { readMetricsDoc } from '../helpers/metricsDoc.ts';

// The Kubernetes manifests (k8s/) and the Dockerfile agree with each other and with the
// sidecar: ports, names, ConfigMap keys and mounts, Secret keys and the variables the spec
// needs, probe paths against what the admin server answers, the ServiceMonitor's port, and
// alert expressions against the real metric registry. Checked on k8s/ resolved by
// test/helpers/k8sManifests.ts and, where kubectl is installed, on `kubectl kustomize k8s/` too.

const ROOT = path.resolve(import.meta.dirname, '../..');
const SPEC_FILE = path.join(K8S_DIR, 'strangler.yaml');
const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
const rendered = renderWithKubectl();
const sources: [string, K8sObject[]][] = [
  ['k8s/ resolved from its files', resolveKustomization()],
  ...(rendered ? [['kubectl kustomize k8s/', rendered] as [string, K8sObject[]]] : []),
];

/** Dockerfile instructions by keyword, continuation lines joined, runs of blanks as one. */
function instructions(keyword: string, text = dockerfile): string[] {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((l) => l.startsWith(`${keyword} `))
    .map((l) =>
      l
        .slice(keyword.length + 1)
        .replace(/\s+/g, ' ')
        .trim(),
    );
}
const WORKDIR = instructions('WORKDIR').at(-1)!;

/** The env a container gets: literal values, and Secret keys looked up in the manifests. */
function containerEnv(c: Container, objects: K8sObject[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    const ref = e.valueFrom?.secretKeyRef;
    if (ref) {
      const secret = one(objects, 'Secret', ref.name) as K8sObject & { stringData?: Record<string, string> };
      const value = secret.stringData?.[ref.key];
      if (value === undefined) throw new Error(`${c.name}: env ${e.name} names key ${ref.key}, not in Secret ${ref.name}`);
      env[e.name] = value;
    } else if (e.value !== undefined) env[e.name] = e.value;
  }
  return env;
}

/**
 * The repository file an image path comes from. The runtime stage copies dist/, where
 * `npm run build` puts the sample service (examples/legacy-orders) as it is, .ts files included.
 */
function sourceOf(imagePath: string): string {
  const rel = path.posix.relative(WORKDIR, imagePath);
  return path.join(ROOT, rel.startsWith('dist/examples/') ? rel.slice('dist/'.length) : rel);
}

/** `--config PATH` of a container's arguments. */
const configArg = (c: Container): string | undefined => {
  const args = [...(c.command ?? []), ...(c.args ?? [])];
  const i = args.indexOf('--config');
  return i >= 0 ? args[i + 1] : undefined;
};

describe.each(sources)('%s', (_source, objects) => {
  const deployment = one(objects, 'Deployment', 'orders') as K8sObject & {
    spec: {
      replicas: number;
      selector: { matchLabels: Record<string, string> };
      template: { metadata: { labels: Record<string, string> } };
    };
  };
  const pod: PodSpec = podSpecs([deployment])[0]!;
  const podLabels = deployment.spec.template.metadata.labels;
  const container = (name: string) => {
    const c = allContainers(pod).find((x) => x.name === name);
    if (!c) throw new Error(`no container ${name}`);
    return c;
  };
  const sidecar = container('strangler');
  // Loaded in each test (not while collecting), so a broken reference fails tests, not the file.
  let loaded: ReturnType<typeof loadConfig> | undefined;
  const spec = () => (loaded ??= loadConfig({ file: SPEC_FILE, env: containerEnv(sidecar, objects) }));
  const services = objects.filter((o) => o.kind === 'Service') as (K8sObject & {
    spec: { selector: Record<string, string>; ports: { name: string; port: number; targetPort: string | number }[] };
  })[];
  const portOf = (c: Container, target: string | number) =>
    typeof target === 'number' ? target : c.ports?.find((p) => p.name === target)?.containerPort;

  it('has the objects of a deployment: two replicas, legacy + sidecar in one pod, migrate first', () => {
    expect(objects.map((o) => o.kind).sort()).toEqual(
      [
        'ConfigMap',
        'ConfigMap',
        'Deployment',
        'PodDisruptionBudget',
        'PrometheusRule',
        'Secret',
        'Service',
        'Service',
        'ServiceMonitor',
      ].sort(),
    );
    expect(deployment.spec.replicas).toBe(2);
    expect(pod.containers.map((c) => c.name).sort()).toEqual(['legacy', 'strangler']);
    expect(pod.initContainers?.map((c) => c.name)).toEqual(['migrate']);
    expect(container('migrate').args?.slice(0, 1)).toEqual(['migrate']);
    expect(sidecar.args?.slice(0, 1)).toEqual(['start']);
    expect(selects(deployment.spec.selector.matchLabels, podLabels)).toBe(true);
  });

  it('mounts the ConfigMap key that --config names, and that key is k8s/strangler.yaml', () => {
    for (const c of [sidecar, container('migrate')]) {
      const file = configArg(c);
      expect(file, `${c.name} --config`).toBeDefined();
      const mount = c.volumeMounts?.find((m) => path.posix.dirname(file!) === m.mountPath);
      expect(mount, `${c.name}: a volume mounted at ${path.posix.dirname(file!)}`).toBeDefined();
      const volume = pod.volumes?.find((v) => v.name === mount!.name);
      expect(volume?.configMap, `volume ${mount!.name} is a ConfigMap`).toBeDefined();
      const configMap = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === volume!.configMap!.name) as
        (K8sObject & { data: Record<string, string> }) | undefined;
      expect(configMap, `ConfigMap ${volume!.configMap!.name}`).toBeDefined();
      expect(isGenerated(configMap!.metadata.name, 'strangler-config')).toBe(true);
      const item = volume!.configMap!.items?.find((i) => i.path === path.posix.basename(file!));
      const key = item ? item.key : path.posix.basename(file!);
      expect(Object.keys(configMap!.data)).toContain(key);
      expect(configMap!.data[key]).toBe(fs.readFileSync(SPEC_FILE, 'utf8'));
    }
  });

  it('fills every variable the spec needs from the Secret, and uses every Secret key', () => {
    const strings = (node: unknown): string[] =>
      typeof node === 'string' ? [node] : node !== null && typeof node === 'object' ? Object.values(node).flatMap(strings) : [];
    const needed = [
      ...strings(parse(fs.readFileSync(SPEC_FILE, 'utf8'))).flatMap((v) =>
        [...v.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1]!),
      ),
      ...spec().admin.tokens.map((t) => t.env),
    ];
    expect(needed.length).toBeGreaterThanOrEqual(4);
    const env = containerEnv(sidecar, objects);
    expect(needed.filter((name) => env[name] === undefined)).toEqual([]);
    // Every token is enabled and the legacy database is set: no part turned off.
    expect(spec().admin.disabledTokens).toEqual([]);
    expect(spec().warnings).toEqual([]);
    expect(spec().eventStore.url).toMatch(/^postgres:\/\//);

    const secret = one(objects, 'Secret') as K8sObject & { stringData: Record<string, string> };
    const refs = allContainers(pod).flatMap((c) =>
      (c.env ?? []).flatMap((e) => (e.valueFrom?.secretKeyRef ? [e.valueFrom.secretKeyRef] : [])),
    );
    expect(new Set(refs.map((r) => r.name))).toEqual(new Set([secret.metadata.name]));
    expect(new Set(refs.map((r) => r.key))).toEqual(new Set(Object.keys(secret.stringData)));
  });

  it('gives the migrate init container what `strangler migrate` reads: the event store URL', () => {
    const env = containerEnv(container('migrate'), objects);
    expect(env.STRANGLER_EVENTSTORE_URL).toBe(spec().eventStore.url);
    expect(() => loadConfig({ file: SPEC_FILE, env, requireUpstream: false })).not.toThrow();
  });

  it('names modules that the image carries at the paths written in the spec', () => {
    expect(spec().eventStore.migrateOnStart).toBe(false); // the init container migrates
    // What the runtime stage copies (the build stage's `COPY . .` ships nothing).
    const copied = instructions('COPY', dockerfile.slice(dockerfile.indexOf(' AS runtime')))
      .map((c) => c.split(/\s+/).filter((w) => !w.startsWith('--')))
      .map(([src, dest]) => ({ src: src!, dest: path.posix.resolve(WORKDIR, dest!) }));
    const inImage = (file: string) => copied.some((c) => file === c.dest || file.startsWith(`${c.dest}/`));
    const asHere = { ...spec(), entities: structuredClone(spec().entities) };
    for (const e of Object.values(asHere.entities)) {
      if (e.projection.startsWith('/')) {
        expect(inImage(e.projection), e.projection).toBe(true);
        e.projection = sourceOf(e.projection);
      }
      for (const r of e.reads)
        if (r.handler) {
          expect(inImage(r.handler), r.handler).toBe(true);
          r.handler = sourceOf(r.handler);
        }
    }
    expect(missingFiles(asHere)).toEqual([]);
    const legacyMain = container('legacy').command?.find((a) => a.endsWith('.ts'));
    expect(legacyMain && inImage(legacyMain)).toBe(true);
    expect(fs.existsSync(sourceOf(legacyMain!))).toBe(true);
  });

  it('keeps legacy on loopback: the sidecar forwards to it, no Service reaches it', () => {
    const upstream = new URL(spec().legacy.upstream);
    expect(upstream.hostname).toBe('127.0.0.1');
    const legacyEnv = containerEnv(container('legacy'), objects);
    expect(legacyEnv.HOST).toBe('127.0.0.1');
    expect(legacyEnv.PORT).toBe(upstream.port);
    expect(container('legacy').ports ?? []).toEqual([]);
    for (const s of services)
      for (const p of s.spec.ports) expect(portOf(sidecar, p.targetPort), `${s.metadata.name}`).not.toBe(Number(upstream.port));
  });

  it('points the public Service at server.port and the admin Service at admin.port', () => {
    for (const s of services) expect(selects(s.spec.selector, podLabels), `${s.metadata.name} selects the pod`).toBe(true);
    const targets = services.flatMap((s) => s.spec.ports.map((p) => [s.metadata.name, portOf(sidecar, p.targetPort)]));
    expect(Object.fromEntries(targets)).toEqual({ orders: spec().server.port, 'orders-admin': spec().admin.port });
    const pdb = one(objects, 'PodDisruptionBudget') as K8sObject & { spec: { selector: { matchLabels: Record<string, string> } } };
    expect(selects(pdb.spec.selector.matchLabels, podLabels)).toBe(true);
  });

  it('scrapes /metrics through the admin Service port that the ServiceMonitor names', () => {
    const monitor = one(objects, 'ServiceMonitor') as K8sObject & {
      spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path: string }[] };
    };
    const scraped = services.filter((s) => selects(monitor.spec.selector.matchLabels, s.metadata.labels));
    expect(scraped.map((s) => s.metadata.name)).toEqual(['orders-admin']);
    for (const endpoint of monitor.spec.endpoints) {
      const port = scraped[0]!.spec.ports.find((p) => p.name === endpoint.port);
      expect(port, `Service port ${endpoint.port}`).toBeDefined();
      expect(portOf(sidecar, port!.targetPort)).toBe(spec().admin.port);
      expect(endpoint.path).toBe('/metrics');
    }
  });

  it('probes the admin port: readiness on /readyz, liveness on /healthz', () => {
    const probes = [sidecar.readinessProbe, sidecar.livenessProbe, sidecar.startupProbe];
    expect(probes.every((p) => p?.httpGet)).toBe(true);
    for (const p of probes) expect(portOf(sidecar, p!.httpGet!.port)).toBe(spec().admin.port);
    expect(sidecar.readinessProbe!.httpGet!.path).toBe('/readyz');
    expect(sidecar.livenessProbe!.httpGet!.path).toBe('/healthz');
  });

  it('puts the spool and the config on the volumes the image declares', () => {
    const volumes = JSON.parse(instructions('VOLUME')[0]!) as string[];
    const mountOf = (file: string) => sidecar.volumeMounts?.find((m) => file === m.mountPath || file.startsWith(`${m.mountPath}/`));
    const spoolMount = mountOf(spec().eventStore.spool.path);
    expect(spoolMount, `a volume holds ${spec().eventStore.spool.path}`).toBeDefined();
    expect(spoolMount!.readOnly).not.toBe(true);
    const spoolVolume = pod.volumes?.find((v) => v.name === spoolMount!.name);
    expect(spoolVolume?.emptyDir ?? spoolVolume?.persistentVolumeClaim).toBeDefined();
    expect(volumes).toContain(spoolMount!.mountPath);
    expect(volumes).toContain(path.posix.dirname(configArg(sidecar)!));
  });

  it('uses the image the kustomization names, and the image default command matches the Deployment', () => {
    const images = readKustomization().images!;
    for (const c of allContainers(pod)) expect(c.image).toBe(`${images[0]!.newName}:${images[0]!.newTag}`);
    expect(JSON.parse(instructions('CMD')[0]!)).toEqual(sidecar.args);
  });
});

// Every probe path of the manifests, and the Dockerfile's HEALTHCHECK, asked of the real admin app.
const probePaths = sources.flatMap(([, objects]) =>
  podSpecs(objects).flatMap((spec) =>
    allContainers(spec).flatMap((c) =>
      [c.readinessProbe, c.livenessProbe, c.startupProbe].flatMap((p) => (p?.httpGet ? [p.httpGet.path] : [])),
    ),
  ),
);
describe('the admin server', () => {
  let server: ReturnType<typeof createAdminServer>;
  let base: string;
  beforeAll(async () => {
    server = createAdminServer({
      registry: createMetrics(new Registry()).registry,
      logger: silentLogger(),
      readiness: { ready: () => true, details: async () => ({}) },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('answers 200 on every probe path of the manifests and on the HEALTHCHECK path; 404 on a typo', async () => {
    const health = instructions('HEALTHCHECK')[0]!;
    const healthPath = /127\.0\.0\.1:'[^']*'(\/[a-z/]+)'/.exec(health)?.[1] ?? /(\/healthz)/.exec(health)?.[1];
    expect(healthPath).toBe('/healthz');
    expect(health).toContain(`|| ${loadConfig({ text: 'legacy: { upstream: "http://x" }', env: {} }).admin.port})`); // the default admin port
    const paths = [...new Set([...probePaths, healthPath!, '/metrics'])];
    expect(paths.length).toBeGreaterThanOrEqual(3);
    for (const p of paths) expect((await fetch(base + p)).status, p).toBe(200);
    expect((await fetch(`${base}/healthz/`)).status).toBe(404);
  });
});

describe('Dockerfile', () => {
  it('is multi-stage on node:20-slim, runs as uid 10001, starts the sidecar and stops it with SIGTERM', () => {
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:20-slim$/m);
    expect(instructions('FROM')).toEqual(['${NODE_IMAGE} AS build', '${NODE_IMAGE} AS runtime']);
    expect(instructions('RUN')).toContain('npm run build && npm prune --omit=dev --no-audit --no-fund');
    expect(instructions('USER').at(-1)).toBe('10001:10001');
    expect(instructions('STOPSIGNAL')).toEqual(['SIGTERM']);
    expect(JSON.parse(instructions('ENTRYPOINT')[0]!)).toEqual(['/app/bin/strangler.mjs']);
    expect(WORKDIR).toBe('/app');
    // The runtime stage copies only what runs: no sources, tests or dev tooling.
    const runtime = dockerfile.slice(dockerfile.indexOf('AS runtime'));
    const copied = [...runtime.matchAll(/^COPY --from=build (\S+)/gm)].map((m) => m[1]);
    expect(copied).not.toContain('/app/src');
    expect(copied).not.toContain('/app/test');
    expect(copied).toContain('/app/dist');
    const ignored = fs.readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n');
    expect(ignored).toEqual(expect.arrayContaining(['node_modules/', 'dist/', '.git/']));
  });
});

describe('PrometheusRule', () => {
  const rule = one(resolveKustomization(), 'PrometheusRule') as K8sObject & {
    spec: { groups: { rules: { alert: string; expr: string }[] }[] };
  };
  const rules = rule.spec.groups.flatMap((g) => g.rules);
  const doc = readMetricsDoc();
  const families = new Map(
    createMetrics(new Registry())
      .registry.getMetricsAsArray()
      .map((m) => {
        const metric = m as unknown as { name: string; type: string; labelNames?: readonly string[] };
        return [metric.name, { type: metric.type, labels: [...(metric.labelNames ?? [])] }] as const;
      }),
  );
  /** The registered family a series name belongs to (histograms: _bucket, _sum, _count). */
  const familyOf = (series: string) =>
    families.has(series)
      ? series
      : [...families.keys()].find((f) => families.get(f)!.type === 'histogram' && new RegExp(`^${f}_(bucket|sum|count)$`).test(series));
  const TARGET_LABELS = ['pod', 'namespace', 'job', 'instance', 'container', 'service', 'endpoint'];

  it('defines the alerts of docs/metrics.md, each once', () => {
    expect(rules.map((r) => r.alert).sort()).toEqual(doc.alerts.map((a) => a.name).sort());
    for (const name of [
      'StranglerProjectionLagHigh',
      'StranglerReconciliationMismatch',
      'StranglerShadowMismatch',
      'StranglerSpoolGrowing',
      'StranglerReconciliationStale',
      'StranglerEventStoreConsistencyErrors',
    ])
      expect(rules.map((r) => r.alert)).toContain(name);
  });

  it('uses only registered families, the ones docs/metrics.md names for the alert, with their own labels', () => {
    const problems: string[] = [];
    for (const r of rules) {
      const series = [...new Set(r.expr.match(/\bstrangler_[a-z0-9_]+/g) ?? [])];
      if (series.length === 0) problems.push(`${r.alert}: no strangler_ series`);
      const used = series.map((s) => familyOf(s) ?? `${s} (not registered)`);
      const documented = doc.alerts.find((a) => a.name === r.alert)?.families ?? [];
      for (const f of used) if (!documented.includes(f)) problems.push(`${r.alert}: uses ${f}, docs/metrics.md does not list it`);
      const labels = new Set(used.flatMap((f) => families.get(f)?.labels ?? []));
      const referenced = [
        ...[...r.expr.matchAll(/\b(?:by|on|without|ignoring)\s*\(([^)]*)\)/g)].flatMap((m) => m[1]!.split(',').map((l) => l.trim())),
        ...[...r.expr.matchAll(/\{([^}]*)\}/g)].flatMap((m) => [...m[1]!.matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)].map((x) => x[1]!)),
      ].filter(Boolean);
      for (const l of referenced)
        if (!labels.has(l) && !TARGET_LABELS.includes(l)) problems.push(`${r.alert}: label ${l} is on none of ${used.join(', ')}`);
    }
    expect(problems).toEqual([]);
  });

  it('calls a reconciliation overdue after twice the schedule of k8s/strangler.yaml, and shares the guard thresholds', () => {
    const spec = loadConfig({
      file: SPEC_FILE,
      env: { STRANGLER_EVENTSTORE_URL: 'postgres://x/y', STRANGLER_LEGACY_DB_URL: 'postgres://x/z' },
    });
    const overdue = rules.find((r) => r.alert === 'StranglerReconciliationStale')!.expr;
    expect(Number(/\)\)\s*>\s*(\d+)/.exec(overdue)?.[1])).toBe(maxReportAgeMs(spec) / 1000);
    const shadow = rules.find((r) => r.alert === 'StranglerShadowMismatch')!.expr;
    expect(Number(/\)\s*>\s*([\d.]+)\s*and/.exec(shadow)?.[1])).toBe(spec.rollback.stateMismatchRate);
    expect(Number(/>=\s*(\d+)/.exec(shadow)?.[1])).toBe(spec.rollback.minSamples);
  });
});

describe('Grafana dashboard (k8s/grafana-dashboard.json)', () => {
  const script = path.join(ROOT, 'scripts/grafana-dashboard.mjs');
  const dashboardFile = path.join(K8S_DIR, 'grafana-dashboard.json');
  const check = (...args: string[]) => spawnSync(process.execPath, [script, '--check', ...args], { encoding: 'utf8', cwd: ROOT });

  it('is what scripts/grafana-dashboard.mjs builds from docs/metrics.md (--check)', () => {
    const run = check();
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('--check fails once docs/metrics.md gains a family the committed file lacks', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dashboard-'));
    try {
      const doc = fs.readFileSync(path.join(ROOT, 'docs/metrics.md'), 'utf8');
      const row = '| `strangler_example_total` | counter | — | An example family. | — |\n';
      fs.writeFileSync(path.join(dir, 'metrics.md'), doc.replace('\n<!-- metrics-table:end -->', `${row}\n<!-- metrics-table:end -->`));
      const run = check('--doc', path.join(dir, 'metrics.md'), '--out', dashboardFile);
      expect(run.status).toBe(1);
      expect(run.stderr).toContain('is stale');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('charts every documented family, and only registered ones', () => {
    const dashboard = JSON.parse(fs.readFileSync(dashboardFile, 'utf8')) as { panels: { type: string; targets?: { expr: string }[] }[] };
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    const used = new Set(exprs.flatMap((e) => e.match(/\bstrangler_[a-z0-9_]+/g) ?? []).map((s) => s.replace(/_bucket$/, '')));
    const documented = readMetricsDoc().families.map((f) => f.name);
    expect(documented.filter((f) => !used.has(f))).toEqual([]);
    const registered = new Set(
      createMetrics(new Registry())
        .registry.getMetricsAsArray()
        .map((m) => (m as unknown as { name: string }).name),
    );
    expect([...used].filter((f) => !registered.has(f))).toEqual([]);
  });
});

describe('k8s/ files', () => {
  it('lists every manifest in kustomization.yaml (nothing left out of `kubectl apply -k`)', () => {
    const k = readKustomization();
    const listed = new Set([...(k.resources ?? []), ...(k.configMapGenerator ?? []).flatMap((g) => g.files ?? [])]);
    const files = fs.readdirSync(K8S_DIR).filter((f) => f !== 'kustomization.yaml');
    expect(files.filter((f) => !listed.has(f))).toEqual([]);
    for (const f of files.filter((x) => x.endsWith('.yaml')))
      for (const d of parseAllDocuments(fs.readFileSync(path.join(K8S_DIR, f), 'utf8'))) expect(d.errors, f).toEqual([]);
  });

  // kubeconform needs its binary and the Kubernetes JSON schemas (downloaded, or a local
  // -schema-location); neither can be installed on this project's machines (no Go toolchain,
  // no downloads but npm and Debian packages), so this runs only where `kubeconform` is on PATH.
  const kubeconform = spawnSync('kubeconform', ['-v'], { encoding: 'utf8' });
  it.skipIf(kubeconform.error !== undefined || !rendered)('validates against the Kubernetes schemas with kubeconform', () => {
    const run = spawnSync('kubectl', ['kustomize', K8S_DIR], { encoding: 'utf8' });
    const result = spawnSync('kubeconform', ['-strict', '-summary', '-skip', 'ServiceMonitor,PrometheusRule', '-'], {
      input: run.stdout,
      encoding: 'utf8',
    });
    expect(result.stdout + result.stderr).toContain('Invalid: 0');
    expect(result.status).toBe(0);
  });
});
