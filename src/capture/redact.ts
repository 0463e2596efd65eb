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

/** Keeps only the listed top-level fields. */
export function pick(doc: unknown, fields: readonly string[] | undefined): unknown {
  if (!fields || doc === null || typeof doc !== 'object' || Array.isArray(doc)) return doc;
  const src = doc as Record<string, unknown>;
  return Object.fromEntries(fields.filter((f) => f in src).map((f) => [f, src[f]]));
}
