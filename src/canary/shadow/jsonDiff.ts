/**
 * Path-level differences between two JSON values, for the shadow comparison: key order
 * never matters, arrays compare index by index, a missing key differs from a key holding
 * null. Paths are written `$.items[2].price` (`$["odd key"]` for keys that are not plain
 * names); patterns may use `[*]` for any array index (`$.items[*].updatedAt`).
 */

/** One step of a path: an object key or an array index. */
export type Segment = string | number;
/** `[*]` in a pattern: any array index. */
export const ANY_INDEX: unique symbol = Symbol('[*]');
export type PatternSegment = Segment | typeof ANY_INDEX;

/** One difference. A side that has no value at the path (missing key, shorter array) has no field. */
export interface Diff {
  path: string;
  legacy?: unknown;
  readModel?: unknown;
}

/** Longest text a diff value is shown with (values are previews, bodies can be large). */
export const MAX_VALUE_CHARS = 300;

const PLAIN_KEY = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;
const PATTERN_STEP = /\.([A-Za-z_$][A-Za-z0-9_$-]*)|\[(\*|\d+)\]/y;

/** `$.items[*].price` → ['items', ANY_INDEX, 'price']; the syntax the config accepts (entitySchema's IGNORE_PATH). */
export function parsePattern(text: string): PatternSegment[] {
  if (!text.startsWith('$')) throw new Error(`A JSON path starts with $, got "${text}". Example: $.items[*].updatedAt`);
  const out: PatternSegment[] = [];
  PATTERN_STEP.lastIndex = 1;
  while (PATTERN_STEP.lastIndex < text.length) {
    const at = PATTERN_STEP.lastIndex;
    const m = PATTERN_STEP.exec(text);
    if (!m) throw new Error(`Cannot read the JSON path "${text}" at character ${at + 1}. Example: $.items[*].updatedAt`);
    if (m[1] !== undefined) out.push(m[1]);
    else out.push(m[2] === '*' ? ANY_INDEX : Number(m[2]));
  }
  return out;
}

export function formatPath(path: readonly PatternSegment[]): string {
  let out = '$';
  for (const s of path) {
    if (s === ANY_INDEX) out += '[*]';
    else if (typeof s === 'number') out += `[${s}]`;
    else out += PLAIN_KEY.test(s) ? `.${s}` : `[${JSON.stringify(s)}]`;
  }
  return out;
}

/** Every array index turned into `[*]`: a field noisy in item 3 is noisy in every item. */
export function generalise(path: readonly Segment[]): PatternSegment[] {
  return path.map((s) => (typeof s === 'number' ? ANY_INDEX : s));
}

/** True when `path` is at or under one of the patterns. */
export type PathMatcher = (path: readonly Segment[]) => boolean;

export const MATCH_NOTHING: PathMatcher = () => false;

interface TrieNode {
  end: boolean;
  keys: Map<Segment, TrieNode>;
  any: TrieNode | null;
}

const node = (): TrieNode => ({ end: false, keys: new Map(), any: null });

/**
 * The patterns as a trie: the walk below asks at every node of a body (up to maxBodyBytes of
 * JSON, on the sidecar's event loop), so a check costs the path's depth, not patterns × depth.
 */
export function compileMatcher(patterns: readonly (readonly PatternSegment[])[]): PathMatcher {
  if (patterns.length === 0) return MATCH_NOTHING;
  const root = node();
  for (const p of patterns) {
    let at = root;
    for (const seg of p) {
      if (seg === ANY_INDEX) at = at.any ??= node();
      else {
        let next = at.keys.get(seg);
        if (!next) at.keys.set(seg, (next = node()));
        at = next;
      }
    }
    at.end = true;
  }
  const matches = (at: TrieNode, path: readonly Segment[], i: number): boolean => {
    if (at.end) return true;
    if (i === path.length) return false;
    const seg = path[i]!;
    const exact = at.keys.get(seg);
    if (exact && matches(exact, path, i + 1)) return true;
    return typeof seg === 'number' && at.any !== null && matches(at.any, path, i + 1);
  };
  return (path) => matches(root, path, 0);
}

const MISSING: unique symbol = Symbol('missing');
type Value = unknown;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Deep equality of JSON values, key order ignored. */
export function jsonEqual(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length) return false;
    for (const k of keys) if (!Object.hasOwn(b, k) || !jsonEqual(a[k], b[k])) return false;
    return true;
  }
  return false;
}

export interface DiffOptions {
  /** Paths never compared (ignore rules): differences at or under them are not looked at. */
  ignore?: PathMatcher;
  /** Paths known to be noisy: differences at or under them are counted in `noisy`, not listed. */
  noisy?: PathMatcher;
  /** Differences listed at most (the rest are only counted). Default 20. */
  limit?: number;
}

export interface DiffResult {
  /** The first `limit` differences, in document order (object keys sorted). */
  diffs: Diff[];
  /** Their segments, for callers that generalise them (noise learning). */
  paths: Segment[][];
  /** Differences outside ignored and noisy paths, listed or not. */
  total: number;
  /** Noisy paths whose values differed. */
  noisy: number;
}

/** The differences between legacy's JSON and the read model's, outside ignored paths. */
export function diffJson(legacy: Value, readModel: Value, opts: DiffOptions = {}): DiffResult {
  const ignore = opts.ignore ?? MATCH_NOTHING;
  const noisy = opts.noisy ?? MATCH_NOTHING;
  const limit = opts.limit ?? 20;
  const out: DiffResult = { diffs: [], paths: [], total: 0, noisy: 0 };
  const path: Segment[] = [];
  const record = (a: Value, b: Value) => {
    out.total++;
    if (out.diffs.length >= limit) return;
    out.paths.push([...path]);
    out.diffs.push({
      path: formatPath(path),
      ...(a !== MISSING ? { legacy: preview(a) } : {}),
      ...(b !== MISSING ? { readModel: preview(b) } : {}),
    });
  };
  const walk = (a: Value, b: Value): void => {
    if (path.length > 0) {
      if (ignore(path)) return;
      if (noisy(path)) {
        if (a === MISSING || b === MISSING || !jsonEqual(a, b)) out.noisy++;
        return;
      }
    }
    if (a === b) return;
    if (Array.isArray(a) && Array.isArray(b)) {
      const n = Math.max(a.length, b.length);
      for (let i = 0; i < n; i++) {
        path.push(i);
        walk(i < a.length ? a[i] : MISSING, i < b.length ? b[i] : MISSING);
        path.pop();
      }
      return;
    }
    if (isObject(a) && isObject(b)) {
      const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
      for (const k of keys) {
        path.push(k);
        walk(Object.hasOwn(a, k) ? a[k] : MISSING, Object.hasOwn(b, k) ? b[k] : MISSING);
        path.pop();
      }
      return;
    }
    record(a, b);
  };
  walk(legacy, readModel);
  return out;
}

/** A value as shown in a diff: itself, or (when its JSON is long) the start of its JSON text with `…`. */
export function preview(v: unknown): unknown {
  if (typeof v === 'string') return v.length > MAX_VALUE_CHARS ? `${v.slice(0, MAX_VALUE_CHARS)}…` : v;
  if (typeof v !== 'object' || v === null) return v;
  const text = JSON.stringify(v);
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS)}…` : v;
}
