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

// One scratch buffer per process, grown on demand: a row is written into it and hashed from
// it, so hashing a million rows allocates no per-column Buffers (the engine is single-threaded).
let scratch = Buffer.allocUnsafe(4096);

/** Writes a row's encoding into the scratch buffer; returns its length. */
function writeRow(plans: readonly ColumnPlan[], canon: readonly Canonical[]): number {
  let need = 0;
  for (const c of canon)
    need +=
      5 +
      (c === null
        ? 0
        : typeof c === 'string'
          ? Buffer.byteLength(c, 'utf8')
          : Buffer.isBuffer(c)
            ? c.length
            : Buffer.byteLength(c.raw, 'utf8'));
  if (need > scratch.length) scratch = Buffer.allocUnsafe(Math.max(need, scratch.length * 2));
  let at = 0;
  for (let i = 0; i < plans.length; i++) {
    const c = canon[i]!;
    scratch[at] = columnTag(plans[i]!, c);
    let len: number;
    if (c === null) len = 0;
    else if (typeof c === 'string') len = scratch.write(c, at + 5, 'utf8');
    else if (Buffer.isBuffer(c)) len = c.copy(scratch, at + 5);
    else len = scratch.write(c.raw, at + 5, 'utf8');
    scratch.writeUInt32BE(len, at + 1);
    at += 5 + len;
  }
  return at;
}

/** The encoding of one row (values in plan order) and its canonical values, for samples and column diffs. */
export function encodeRow(plans: readonly ColumnPlan[], values: readonly unknown[]): { bytes: Buffer; canon: Canonical[] } {
  const canon = plans.map((p, i) => canonicalValue(p, values[i]));
  const n = writeRow(plans, canon);
  return { bytes: Buffer.from(scratch.subarray(0, n)), canon };
}

/** sha256 of a row's encoding. `crypto.hash` (Node ≥ 20.12) skips the Hash object per row. */
export const rowHash: (bytes: Buffer) => Buffer =
  typeof oneShotHash === 'function' ? (b) => oneShotHash('sha256', b, 'buffer') : (b) => createHash('sha256').update(b).digest();

const hashLatin1: (b: Buffer) => string =
  typeof oneShotHash === 'function' ? (b) => oneShotHash('sha256', b, 'binary') : (b) => createHash('sha256').update(b).digest('binary');

/**
 * Canonical values and the row hash in one step, without keeping the encoding: the engine's
 * hot path. The hash is the 32 digest bytes as a latin1 string (one char per byte): compared
 * with ===, and about half the cost of a Buffer per row.
 */
export function hashRow(plans: readonly ColumnPlan[], values: readonly unknown[]): { canon: Canonical[]; hash: string } {
  const canon = new Array<Canonical>(plans.length);
  for (let i = 0; i < plans.length; i++) canon[i] = canonicalValue(plans[i]!, values[i]);
  const n = writeRow(plans, canon);
  return { canon, hash: hashLatin1(scratch.subarray(0, n)) };
}

/**
 * Σ of hash prefixes (first 8 bytes, unsigned) kept as two Numbers, high and low 32 bits: a
 * BigInt per row would cost more than the hash. Exact while a sum stays under 2^53, i.e. for
 * up to 2^21 rows per accumulator (a chunk holds at most 100,000).
 */
export class PrefixSum {
  hi = 0;
  lo = 0;
  add(latin1Hash: string): void {
    const c = (i: number) => latin1Hash.charCodeAt(i);
    this.hi += ((c(0) << 24) | (c(1) << 16) | (c(2) << 8) | c(3)) >>> 0;
    this.lo += ((c(4) << 24) | (c(5) << 16) | (c(6) << 8) | c(7)) >>> 0;
  }
  value(): bigint {
    return ((BigInt(this.hi) << 32n) + BigInt(this.lo)) % MOD64;
  }
}

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
