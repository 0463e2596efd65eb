import { JSON_CONTENT_TYPE, type ReadAnswer } from '../../reads/types.ts';
import { diffJson, MAX_VALUE_CHARS, type Diff, type PathMatcher, type Segment } from './jsonDiff.ts';

/**
 * One shadow comparison: legacy's answer (as the client got it, decoded) against the read
 * model's. What counts:
 * - the status;
 * - the media type (`application/json` vs `text/html`), parameters such as charset aside:
 *   JSON is UTF-8 either way (RFC 8259), and a client parses by the media type;
 * - the body: as JSON with key order ignored when legacy's parses as JSON, else byte for
 *   byte against the bytes the read model would send (`JSON.stringify(body)`).
 * Other headers are not compared (Date, ETag, X-Request-Id differ on every answer).
 */

/** A body as compared: parsed JSON, raw bytes (legacy's was not JSON), or nothing. */
export type Body = { kind: 'json'; value: unknown } | { kind: 'bytes'; bytes: Buffer } | { kind: 'empty' };

export interface ComparedSide {
  status: number;
  /** The media type, lower case, without parameters; null when the answer had none. */
  mediaType: string | null;
  body: Body;
}

export interface Comparison {
  result: 'match' | 'mismatch' | 'noisy';
  status: { legacy: number; readModel: number };
  /** Set when the media types differ. */
  mediaType?: { legacy: string | null; readModel: string | null };
  diffs: Diff[];
  /** Differences beyond the listed ones. */
  more: number;
}

export function mediaTypeOf(contentType: string | string[] | undefined): string | null {
  const value = Array.isArray(contentType) ? contentType[0] : contentType;
  if (value === undefined || value.trim() === '') return null;
  return (value.split(';')[0] ?? '').trim().toLowerCase();
}

/** Legacy's decoded body: JSON when it parses as JSON, else its bytes. */
export function legacyBody(bytes: Buffer): Body {
  if (bytes.length === 0) return { kind: 'empty' };
  try {
    return { kind: 'json', value: JSON.parse(bytes.toString('utf8')) as unknown };
  } catch {
    return { kind: 'bytes', bytes };
  }
}

/** The read model's answer as the client would get it: JSON.stringify then parsed (Dates become strings, undefined fields go). */
export function readModelSide(answer: ReadAnswer): ComparedSide {
  const text = JSON.stringify(answer.body) as string | undefined;
  return {
    status: answer.status,
    mediaType: mediaTypeOf(answer.contentType ?? JSON_CONTENT_TYPE),
    body: text === undefined || text === '' ? { kind: 'empty' } : { kind: 'json', value: JSON.parse(text) as unknown },
  };
}

const bytesOf = (b: Body): Buffer =>
  b.kind === 'bytes' ? b.bytes : b.kind === 'json' ? Buffer.from(JSON.stringify(b.value)) : Buffer.alloc(0);

const textPreview = (b: Buffer) => {
  const text = b.toString('utf8');
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS)}…` : text;
};

export interface CompareOptions {
  ignore: PathMatcher;
  noisy: PathMatcher;
  /** Differences listed at most. */
  limit: number;
}

export function compareSides(legacy: ComparedSide, readModel: ComparedSide, opts: CompareOptions): Comparison {
  const status = { legacy: legacy.status, readModel: readModel.status };
  let diffs: Diff[] = [];
  let total = 0;
  let noisy = 0;
  const lb = legacy.body;
  const rb = readModel.body;
  if (lb.kind === 'json' && rb.kind === 'json') {
    const d = diffJson(lb.value, rb.value, opts);
    diffs = d.diffs;
    total = d.total;
    noisy = d.noisy;
  } else if (lb.kind !== rb.kind || !bytesOf(lb).equals(bytesOf(rb))) {
    // Not JSON on one side: the bodies as bytes, shown as text at `$`.
    total = 1;
    diffs = [
      {
        path: '$',
        ...(lb.kind !== 'empty' ? { legacy: textPreview(bytesOf(lb)) } : {}),
        ...(rb.kind !== 'empty' ? { readModel: textPreview(bytesOf(rb)) } : {}),
      },
    ];
  }
  // A body-less answer (204, a 404 without body) has no media type worth comparing.
  const typeDiffers = lb.kind !== 'empty' && legacy.mediaType !== readModel.mediaType;
  const mismatch = status.legacy !== status.readModel || typeDiffers || total > 0;
  return {
    result: mismatch ? 'mismatch' : noisy > 0 ? 'noisy' : 'match',
    status,
    ...(typeDiffers ? { mediaType: { legacy: legacy.mediaType, readModel: readModel.mediaType } } : {}),
    diffs,
    more: total - diffs.length,
  };
}

/**
 * Where two legacy answers to the same request differ (noise): their paths, for JSON bodies
 * with the same status; null when they cannot tell (a status changed, a body is not JSON).
 */
export function noisePaths(first: ComparedSide, second: ComparedSide, ignore: PathMatcher, limit: number): Segment[][] | null {
  if (first.status !== second.status || first.body.kind !== 'json' || second.body.kind !== 'json') return null;
  return diffJson(first.body.value, second.body.value, { ignore, limit }).paths;
}
