import { dataFieldName, readJsonPath } from './jsonPath.ts';

/**
 * Removes the configured sensitive fields (at any depth) from a captured document, so
 * they never reach the event log. Events are immutable: a secret stored once stays forever.
 */
export function redact(doc: unknown, fields: ReadonlySet<string>): unknown {
  if (fields.size === 0 || doc === null || typeof doc !== 'object') return doc;
  if (Array.isArray(doc)) return doc.map((v) => redact(v, fields));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc)) {
    if (fields.has(k)) continue;
    out[k] = redact(v, fields);
  }
  return out;
}

/**
 * Keeps only the listed fields: a name takes that top-level field, a path (`article.title`,
 * `$.article.title`) takes the value there under its last key (`title`). Absent ones are left out.
 */
export function pick(doc: unknown, fields: readonly string[] | undefined): unknown {
  if (!fields || doc === null || typeof doc !== 'object' || Array.isArray(doc)) return doc;
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    const value = readJsonPath(doc, f);
    if (value !== undefined) out[dataFieldName(f)] = value;
  }
  return out;
}
