import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every level: jsonb reorders keys, the digest must not care. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value);
    return text === undefined ? 'null' : text;
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export interface DigestInput {
  streamId: string;
  kind: string;
  foldVersion: number;
  version: number;
  anchorEventId: string;
  state: unknown;
}

/** sha256 over everything a snapshot claims: where it belongs, which event it follows, and the state. */
export function snapshotDigest(input: DigestInput): string {
  return createHash('sha256').update(canonicalJson(input)).digest('hex');
}
