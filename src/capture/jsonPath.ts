/**
 * JSON paths of the spec: `$.article.title` or `article.title` (the `$.` is optional), a
 * dotted walk through objects, nothing more (no arrays, no wildcards). The config stores
 * them in the `$.a.b` form (toJsonPath); `$` alone is the document itself.
 */
export function toJsonPath(path: string): string {
  return path === '$' || path.startsWith('$.') ? path : `$.${path}`;
}

/** The keys walked: `$.article.title` → ['article', 'title']. */
export function jsonPathKeys(path: string): string[] {
  return path === '$' ? [] : toJsonPath(path).split('.').slice(1);
}

/** The value at a path, undefined where the walk meets a missing key or a non-object. */
export function readJsonPath(doc: unknown, path: string): unknown {
  let cur: unknown = doc;
  for (const key of jsonPathKeys(path)) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/** The field a data path lands in: its last key (`article.title` → `title`). */
export function dataFieldName(path: string): string {
  return jsonPathKeys(path).at(-1) ?? path;
}
