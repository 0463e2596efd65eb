import type { ExpectedTable } from '../../projections/types.ts';
import { normalizeTimestamp } from '../../projections/aggregates/timestamps.ts';

export interface FieldDifference {
  /** `carts.status`, `cart_items[sku=SKU-1].price`, `carts` (row missing or extra). */
  field: string;
  /** From the replayed stream. */
  expected: string | null;
  /** From the read model. */
  actual: string | null;
}

export type Row = Readonly<Record<string, string | null>>;

const DECIMAL = /^([+-]?)0*(\d*?)(?:\.(\d*?)0*)?$/;

/** "+012.50" → "12.5", "-0.0" → "0"; undefined for anything else. */
function decimal(v: string): string | undefined {
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(v)) return undefined;
  const m = DECIMAL.exec(v);
  if (!m) return undefined;
  const int = m[2] || '0';
  const frac = m[3] ?? '';
  const body = frac ? `${int}.${frac}` : int;
  return body === '0' ? '0' : `${m[1] === '-' ? '-' : ''}${body}`;
}

function json(v: string): string | undefined {
  if (!/^\s*[[{]/.test(v)) return undefined;
  try {
    return canonical(JSON.parse(v));
  } catch {
    return undefined;
  }
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

/**
 * Equal as text, or the same number (`1.50` = `1.5`), the same instant (`…07.00001+00` =
 * `…07.000010Z`) or the same JSON: the read model's column types belong to the projection
 * module, the comparison must not depend on them.
 */
export function sameValue(expected: string | null, actual: string | null): boolean {
  if (expected === actual) return true;
  if (expected === null || actual === null) return false;
  for (const norm of [decimal, normalizeTimestamp, json]) {
    const e = norm(expected);
    if (e !== undefined && e === norm(actual)) return true;
  }
  return false;
}

/**
 * The rows one stream should leave in a table against the rows it has, field by field.
 * Pure. A single-row table (no `key`) reports `table.column`; rows told apart by a key
 * report `table[sku=A].column`, and a missing or extra row with its other columns.
 */
export function compareRows(table: string, expected: ExpectedTable, actual: readonly Row[]): FieldDifference[] {
  const single = expected.key === undefined;
  const keyCols = expected.key ?? Object.keys(expected.where);
  const keyOf = (r: Row) => keyCols.map((c) => r[c] ?? '').join('\u0000');
  const label = (r: Row) => (single ? table : `${table}[${keyCols.map((c) => `${c}=${r[c] ?? 'null'}`).join(',')}]`);
  const describe = (r: Row) =>
    single
      ? `row ${keyCols.map((c) => r[c] ?? 'null').join(', ')}`
      : Object.entries(r)
          .filter(([c]) => !keyCols.includes(c) && !(c in expected.where))
          .map(([c, v]) => `${c} ${v ?? 'null'}`)
          .join(', ');
  const absent = `(no row${expected.absent ? `: ${expected.absent}` : ''})`;

  const diffs: FieldDifference[] = [];
  const got = new Map(actual.map((r) => [keyOf(r), r]));
  for (const e of expected.rows) {
    const a = got.get(keyOf(e));
    got.delete(keyOf(e));
    if (!a) {
      diffs.push({ field: label(e), expected: describe(e), actual: '(no row)' });
      continue;
    }
    for (const [column, value] of Object.entries(e)) {
      const other = a[column] ?? null;
      if (!sameValue(value, other)) diffs.push({ field: `${label(e)}.${column}`, expected: value, actual: other });
    }
  }
  for (const a of got.values()) diffs.push({ field: label(a), expected: single ? absent : '(no row)', actual: describe(a) });
  return diffs;
}
