import type { IncomingMessage } from 'node:http';
import type { StickyKey } from '../config/schema.ts';
import type { ReadOutcome, ReadSource } from './readStats.ts';
import type { CanaryState } from './stages.ts';
import { bucketOf, readsFromModel } from './stickyRouter.ts';

/**
 * The per-request routing of a read, as pure functions: which sticky key a request carries
 * and which side its key reads from at a state. No allocation on the way (the decisions are
 * frozen constants), so the bench measures the routing alone (routing_ns_per_op).
 */

export interface ReadDecision {
  readonly source: ReadSource;
  /** `served` for the read model (it may still fall back); why legacy otherwise. */
  readonly outcome: ReadOutcome;
}

const decision = (source: ReadSource, outcome: ReadOutcome): ReadDecision => Object.freeze({ source, outcome });
export const TO_MODEL = decision('read-model', 'served');
export const TO_MODEL_BY_OVERRIDE = decision('read-model', 'override');
export const TO_LEGACY = decision('legacy', 'routed');
export const TO_LEGACY_NO_KEY = decision('legacy', 'no_key');
export const TO_LEGACY_BY_OVERRIDE = decision('legacy', 'override');

/**
 * Which side reads a key at a state: `complete` → the read model for every read (no key
 * needed); `canary` → the read model when the key's bucket under the entity's salt is below
 * percent × 100, legacy when there is no key; `shadow` and `dual_write` → legacy. A paused
 * canary routes at its percent (pause only freezes changes, stages.ts).
 */
export function routeRead(state: Pick<CanaryState, 'stage' | 'percent'>, salt: string, key: string | undefined): ReadDecision {
  if (state.stage === 'complete') return TO_MODEL;
  if (state.stage !== 'canary') return TO_LEGACY;
  if (key === undefined) return TO_LEGACY_NO_KEY;
  return readsFromModel(state, bucketOf(salt, key)) ? TO_MODEL : TO_LEGACY;
}

/** The tester's override header value → the side it picks (null: no or another value, normal routing). */
export function overrideOf(value: string | string[] | undefined): ReadDecision | null {
  if (value === 'readmodel') return TO_MODEL_BY_OVERRIDE;
  if (value === 'legacy') return TO_LEGACY_BY_OVERRIDE;
  return null;
}

/**
 * The request's sticky key from the configured source, or undefined when it has none (an
 * empty value counts as none): a header, a cookie, a route parameter, a query-string
 * parameter, or the client's socket address (X-Forwarded-For is not trusted).
 */
export function stickyKeyOf(key: StickyKey, req: IncomingMessage, params: Readonly<Record<string, string>>): string | undefined {
  switch (key.source) {
    case 'header': {
      const v = req.headers[key.name];
      const s = typeof v === 'string' ? v : v?.[0];
      return s === '' ? undefined : s;
    }
    case 'cookie': {
      const v = req.headers.cookie;
      return v === undefined ? undefined : cookieValue(v, key.name);
    }
    case 'param': {
      const v = params[key.name];
      return v === '' ? undefined : v;
    }
    case 'query':
      return queryValue(req.url ?? '', key.name);
    case 'address':
      return req.socket.remoteAddress || undefined;
  }
}

/**
 * A cookie's value in a Cookie header (`a=1; sid=xyz`), or undefined. The first pair with the
 * name wins (RFC 6265 §5.4 sends the most specific first); spaces around the pair are
 * dropped and a double-quoted value is unquoted; the value is taken as sent (no decoding:
 * it is only hashed). Scans the header without splitting it.
 */
export function cookieValue(header: string, name: string): string | undefined {
  const n = header.length;
  let i = 0;
  while (i < n) {
    while (i < n && isSpace(header.charCodeAt(i))) i++;
    let end = header.indexOf(';', i);
    if (end === -1) end = n;
    if (header.startsWith(name, i)) {
      let eq = i + name.length;
      while (eq < end && isSpace(header.charCodeAt(eq))) eq++;
      if (eq < end && header.charCodeAt(eq) === 61 /* = */) {
        let from = eq + 1;
        let to = end;
        while (from < to && isSpace(header.charCodeAt(from))) from++;
        while (to > from && isSpace(header.charCodeAt(to - 1))) to--;
        if (to - from >= 2 && header.charCodeAt(from) === 34 && header.charCodeAt(to - 1) === 34) {
          from++;
          to--;
        }
        return to > from ? header.slice(from, to) : undefined;
      }
    }
    i = end + 1;
  }
  return undefined;
}

const isSpace = (c: number) => c === 32 || c === 9;

/** A query-string parameter's first value, decoded like URLSearchParams (`+` is a space), or undefined. */
export function queryValue(url: string, name: string): string | undefined {
  const q = url.indexOf('?');
  if (q === -1) return undefined;
  const n = url.length;
  let i = q + 1;
  while (i < n) {
    let end = url.indexOf('&', i);
    if (end === -1) end = n;
    let keyEnd = url.indexOf('=', i);
    if (keyEnd === -1 || keyEnd > end) keyEnd = end;
    // The key as sent first (no allocation); an encoded key is decoded to compare.
    const same =
      keyEnd - i === name.length && url.startsWith(name, i)
        ? true
        : hasEscapes(url, i, keyEnd) && decodePart(url.slice(i, keyEnd)) === name;
    if (same) {
      const value = keyEnd === end ? '' : decodePart(url.slice(keyEnd + 1, end));
      return value === '' ? undefined : value;
    }
    i = end + 1;
  }
  return undefined;
}

function hasEscapes(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c === 37 /* % */ || c === 43 /* + */) return true;
  }
  return false;
}

function decodePart(s: string): string {
  if (s.indexOf('%') === -1 && s.indexOf('+') === -1) return s;
  try {
    return decodeURIComponent(s.replaceAll('+', ' '));
  } catch {
    return s; // a malformed escape: the text as sent is still a stable key
  }
}
