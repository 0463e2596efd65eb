import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

/** One Kubernetes object, as much of it as the manifest tests read. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

export const K8S_DIR = path.resolve(import.meta.dirname, '../../k8s');

interface Kustomization {
  resources?: string[];
  images?: { name: string; newName?: string; newTag?: string }[];
  configMapGenerator?: { name: string; files?: string[]; options?: { labels?: Record<string, string> } }[];
}

export function readKustomization(): Kustomization {
  return parse(fs.readFileSync(path.join(K8S_DIR, 'kustomization.yaml'), 'utf8')) as Kustomization;
}

/**
 * The objects of k8s/ as kustomize would emit them, resolved here without kustomize: the
 * resources' documents, a ConfigMap per configMapGenerator entry (keys = file names, names
 * without the content hash) and the `images` replacements. What this repository's
 * kustomization uses, nothing more: an unknown field is an error rather than ignored.
 */
export function resolveKustomization(): K8sObject[] {
  const k = readKustomization();
  const known = new Set(['apiVersion', 'kind', 'resources', 'images', 'configMapGenerator']);
  const unknown = Object.keys(k).filter((key) => !known.has(key));
  if (unknown.length) throw new Error(`k8s/kustomization.yaml: fields this resolver does not handle: ${unknown.join(', ')}`);
  const objects: K8sObject[] = [];
  for (const file of k.resources ?? []) {
    for (const doc of parseAllDocuments(fs.readFileSync(path.join(K8S_DIR, file), 'utf8'))) {
      if (doc.errors.length) throw new Error(`k8s/${file}: ${doc.errors[0]!.message}`);
      const value = doc.toJS() as K8sObject | null;
      if (value) objects.push(value);
    }
  }
  for (const gen of k.configMapGenerator ?? []) {
    const data = Object.fromEntries((gen.files ?? []).map((f) => [path.basename(f), fs.readFileSync(path.join(K8S_DIR, f), 'utf8')]));
    objects.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: gen.name, labels: gen.options?.labels ?? {} }, data });
  }
  for (const c of podSpecs(objects).flatMap((spec) => allContainers(spec))) {
    const image = k.images?.find((i) => c.image === i.name || c.image.startsWith(`${i.name}:`));
    if (image) c.image = `${image.newName ?? image.name}:${image.newTag ?? 'latest'}`;
  }
  return objects;
}

/** `kubectl kustomize k8s/` parsed, or null when kubectl is not installed. Throws when it fails. */
export function renderWithKubectl(): K8sObject[] | null {
  const run = spawnSync('kubectl', ['kustomize', K8S_DIR], { encoding: 'utf8', timeout: 60_000 });
  if (run.error && (run.error as NodeJS.ErrnoException).code === 'ENOENT') return null;
  if (run.status !== 0) throw new Error(`kubectl kustomize k8s/ failed: ${run.stderr || String(run.error)}`);
  return parseAllDocuments(run.stdout).map((d) => d.toJS() as K8sObject);
}

export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
}
export interface Probe {
  httpGet?: { path: string; port: string | number };
}
export interface Volume {
  name: string;
  configMap?: { name: string; items?: { key: string; path: string }[] };
  emptyDir?: object;
  persistentVolumeClaim?: { claimName: string };
}
export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: Volume[];
}

export function podSpecs(objects: K8sObject[]): PodSpec[] {
  return objects
    .filter((o) => ['Deployment', 'StatefulSet', 'DaemonSet'].includes(o.kind))
    .map((o) => (o as unknown as { spec: { template: { spec: PodSpec } } }).spec.template.spec);
}

export const allContainers = (spec: PodSpec): Container[] => [...(spec.initContainers ?? []), ...spec.containers];

export function one(objects: K8sObject[], kind: string, name?: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0]!;
}

/** A label selector's matchLabels (or a Service's plain selector) matches these labels. */
export const selects = (selector: Record<string, string>, labels: Record<string, string> = {}): boolean =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

/** The ConfigMap a generator entry became: its name with kustomize's `-<hash>` suffix, or without. */
export const isGenerated = (actual: string, base: string): boolean => actual === base || new RegExp(`^${base}-[a-z0-9]{10}$`).test(actual);
