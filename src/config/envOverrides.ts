/**
 * Environment variables that override single fields of the file, for deployments that
 * keep one file and vary the endpoints (k8s Secret → env). Read here and nowhere else.
 */
export const ENV_OVERRIDES = [
  { env: 'STRANGLER_EVENTSTORE_URL', path: ['eventStore', 'url'] },
  { env: 'STRANGLER_LEGACY_DB_URL', path: ['legacy', 'database', 'url'] },
  { env: 'STRANGLER_LEGACY_UPSTREAM', path: ['legacy', 'upstream'] },
  { env: 'STRANGLER_PUBLIC_PORT', path: ['server', 'port'] },
  { env: 'STRANGLER_ADMIN_PORT', path: ['admin', 'port'] },
] as const;

/**
 * Writes each set (non-empty) override into the raw spec, creating missing sections.
 * Returns the dotted paths written, with the variable that wrote each, so messages about
 * those fields can say where the value came from.
 */
export function applyEnvOverrides(
  raw: unknown,
  env: Readonly<Record<string, string | undefined>>,
): { value: unknown; applied: Map<string, string> } {
  const applied = new Map<string, string>();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return { value: raw, applied };
  const root = structuredClone(raw) as Record<string, unknown>;
  for (const { env: name, path } of ENV_OVERRIDES) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    let node: Record<string, unknown> | undefined = root;
    for (const key of path.slice(0, -1)) {
      const next: unknown = node[key] ?? (node[key] = {});
      node = next !== null && typeof next === 'object' && !Array.isArray(next) ? (next as Record<string, unknown>) : undefined;
      if (!node) break; // the file has a non-mapping here; the schema reports it
    }
    const leaf = path[path.length - 1];
    if (node && leaf !== undefined) {
      node[leaf] = value;
      applied.set(path.join('.'), name);
    }
  }
  return { value: root, applied };
}
