import { sameCanonical } from '../encoding/rowEncoding.ts';
import { canonicalValue, type Canonical } from '../encoding/canonical.ts';
import type { ColumnKind, ColumnPlan } from '../encoding/kinds.ts';

/**
 * One row of a side, hashed. Only the key's canonical values are kept: the canonical values of
 * the other columns are recomputed from `values` for the few rows that differ, so a chunk holds
 * the driver's row and 32 bytes of hash per row, not a second copy of every value.
 */
export interface HashedRow {
  /** The row as the driver returned it, in plan order; the key's values lead (SQL parameters for re-checks). */
  values: unknown[];
  keyCanon: Canonical[];
  /** sha256 of the row's encoding, as a latin1 string (see hashRow). */
  hash: string;
}

export function canonOf(plans: readonly ColumnPlan[], row: HashedRow): Canonical[] {
  return plans.map((p, i) => canonicalValue(p, row.values[i]));
}

export type Outcome =
  | { kind: 'matched'; legacy: HashedRow; readModel: HashedRow }
  | { kind: 'missing'; legacy: HashedRow }
  | { kind: 'extra'; readModel: HashedRow }
  | { kind: 'differing'; legacy: HashedRow; readModel: HashedRow; columns: string[] };

/**
 * UTF-8 byte order (= code point order) of two strings, the order of PostgreSQL's "C"
 * collation and MySQL's `_bin` ones. JS `<` compares UTF-16 code units, which puts
 * U+E000–U+FFFF after the surrogate pairs of astral characters; this does not.
 */
export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let ca = a.charCodeAt(i);
    let cb = b.charCodeAt(i);
    if (ca === cb) continue;
    if (ca >= 0xd800) ca = ca <= 0xdfff ? ca + 0x2000 : ca - 0x800;
    if (cb >= 0xd800) cb = cb <= 0xdfff ? cb + 0x2000 : cb - 0x800;
    return ca < cb ? -1 : 1;
  }
  return a.length - b.length;
}

function compareValue(kind: ColumnKind, a: Canonical, b: Canonical): number {
  if (typeof a === 'string' && typeof b === 'string') {
    if (kind === 'integer') {
      const x = BigInt(a);
      const y = BigInt(b);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    return compareCodePoints(a, b);
  }
  // Keys are never NULL or unparsable in a sane table; order such keys deterministically anyway.
  const s = (c: Canonical) => (c === null ? '' : typeof c === 'string' ? c : Buffer.isBuffer(c) ? c.toString('hex') : c.raw);
  return compareCodePoints(s(a), s(b));
}

export function compareKeys(kinds: readonly ColumnKind[], a: readonly Canonical[], b: readonly Canonical[]): number {
  for (let i = 0; i < kinds.length; i++) {
    const c = compareValue(kinds[i]!, a[i]!, b[i]!);
    if (c !== 0) return c;
  }
  return 0;
}

export function differingColumns(plans: readonly ColumnPlan[], a: HashedRow, b: HashedRow): string[] {
  const cols: string[] = [];
  const ca = canonOf(plans, a);
  const cb = canonOf(plans, b);
  for (let i = 0; i < plans.length; i++) if (!sameCanonical(plans[i]!, ca[i]!, cb[i]!)) cols.push(plans[i]!.legacy);
  return cols;
}

/** Merge-join of two key-ordered lists; calls `out` once per key, in key order. */
export function mergeRows(
  plans: readonly ColumnPlan[],
  keyKinds: readonly ColumnKind[],
  legacy: readonly HashedRow[],
  readModel: readonly HashedRow[],
  out: (o: Outcome) => void,
): void {
  let i = 0;
  let j = 0;
  while (i < legacy.length || j < readModel.length) {
    const l = legacy[i];
    const r = readModel[j];
    const c = !l ? 1 : !r ? -1 : compareKeys(keyKinds, l.keyCanon, r.keyCanon);
    if (c < 0) {
      out({ kind: 'missing', legacy: l! });
      i++;
    } else if (c > 0) {
      out({ kind: 'extra', readModel: r! });
      j++;
    } else {
      if (l!.hash === r!.hash) out({ kind: 'matched', legacy: l!, readModel: r! });
      else out({ kind: 'differing', legacy: l!, readModel: r!, columns: differingColumns(plans, l!, r!) });
      i++;
      j++;
    }
  }
}
