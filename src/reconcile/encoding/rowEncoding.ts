import { createHash, hash as oneShotHash } from 'node:crypto';
import { canonicalValue, type Canonical } from './canonical.ts';
import { TAG, type ColumnPlan } from './kinds.ts';

/**
 * Version of the row encoding. Stored with every report: two reports compare only when
 * they share it. Bump on any change to canonical forms, tags or layout.
 *
 * v1 layout, per column in plan order: 1 byte tag, 4 bytes big-endian length, the bytes
 * (UTF-8 of the canonical text; raw bytes for `bytes`). Row hash = sha256 of the whole.
 */
export const ENCODING_VERSION = 1;

export function columnTag(plan: ColumnPlan, c: Canonical): number {
  if (c === null) return TAG.null;
  if (typeof c === 'object' && !Buffer.isBuffer(c)) return TAG.raw;
  return TAG[plan.kind];
}

function bytesOf(c: Canonical): Buffer {
  if (c === null) return EMPTY;
  if (typeof c === 'string') return Buffer.from(c, 'utf8');
  if (Buffer.isBuffer(c)) return c;
  return Buffer.from(c.raw, 'utf8');
}

const EMPTY = Buffer.alloc(0);

/** The encoding of one row (values in plan order) and its canonical values, for samples and column diffs. */
export function encodeRow(plans: readonly ColumnPlan[], values: readonly unknown[]): { bytes: Buffer; canon: Canonical[] } {
  const canon = plans.map((p, i) => canonicalValue(p, values[i]));
  const parts: Buffer[] = [];
  for (let i = 0; i < plans.length; i++) {
    const c = canon[i]!;
    const body = bytesOf(c);
    const head = Buffer.allocUnsafe(5);
    head[0] = columnTag(plans[i]!, c);
    head.writeUInt32BE(body.length, 1);
    parts.push(head, body);
  }
  return { bytes: Buffer.concat(parts), canon };
}

/** sha256 of a row's encoding. `crypto.hash` (Node ≥ 20.12) skips the Hash object per row. */
export const rowHash: (bytes: Buffer) => Buffer =
  typeof oneShotHash === 'function' ? (b) => oneShotHash('sha256', b, 'buffer') as unknown as Buffer : (b) => createHash('sha256').update(b).digest();

/** A canonical value as report text: strings as they are, bytes as hex, unparsable values marked. */
export function displayCanonical(c: Canonical): string | null {
  if (c === null) return null;
  if (typeof c === 'string') return c;
  if (Buffer.isBuffer(c)) return `\\x${c.toString('hex')}`;
  return `(unparsable) ${c.raw}`;
}

/** Whether two canonical values encode to the same bytes (and so hash alike). */
export function sameCanonical(plan: ColumnPlan, a: Canonical, b: Canonical): boolean {
  return columnTag(plan, a) === columnTag(plan, b) && bytesOf(a).equals(bytesOf(b));
}

/**
 * First 8 bytes of a row hash as an unsigned 64-bit integer. Summed modulo 2^64 over a key
 * range it is the chunk checksum (order-independent, and unlike XOR two equal differing
 * rows do not cancel out); the in-database prefilter computes the same sum.
 */
export function hashPrefix(h: Buffer): bigint {
  return h.readBigUInt64BE(0);
}

export const MOD64 = 1n << 64n;
