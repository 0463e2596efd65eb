import type { Dialect } from '../../db/executor.ts';
import type { WhereSpec } from '../../config/whereSchema.ts';
import type { ColumnKind } from '../encoding/kinds.ts';
import { whereConditions } from './sideFilter.ts';

/**
 * SQL for one side of a comparison. Identifiers come from the validated spec and from
 * information_schema (sqlIdentifier pattern) and are quoted; values are always parameters.
 */
export interface SideShape {
  dialect: Dialect;
  /** Table as configured (pg may be schema.table). */
  table: string;
  /** Compared columns in plan order; the first `keyKinds.length` are the key. */
  columns: readonly string[];
  keyKinds: readonly ColumnKind[];
  /** Walk the key in the table's own collation (no COLLATE "C"): a legacy key under a non-binary collation (keyedWalk.ts). */
  nativeOrder?: boolean;
  /** Only the rows this filter keeps (reconcile.where; sideFilter.ts). */
  where?: WhereSpec | undefined;
}

export function quoteIdent(dialect: Dialect, name: string): string {
  return dialect === 'mysql' ? `\`${name.replaceAll('`', '``')}\`` : `"${name.replaceAll('"', '""')}"`;
}

export function quoteTableName(dialect: Dialect, name: string): string {
  return name
    .split('.')
    .map((p) => quoteIdent(dialect, p))
    .join('.');
}

/** Placeholders: `?` on MySQL, `$n` on PostgreSQL, numbered from `start`. */
export function placeholders(dialect: Dialect, start: number) {
  let n = start;
  return () => (dialect === 'mysql' ? '?' : `$${n++}`);
}

/**
 * Key columns as compared: on PostgreSQL text keys are ordered COLLATE "C" (byte order),
 * the order of a MySQL `_bin` collation; the legacy key's collation is checked at plan time,
 * and a key under a non-binary one is walked in its own order (`nativeOrder`).
 */
export function keyExprs(s: SideShape): string[] {
  return s.keyKinds.map((kind, i) => {
    const col = quoteIdent(s.dialect, s.columns[i]!);
    return s.dialect !== 'mysql' && kind === 'string' && !s.nativeOrder ? `${col} COLLATE "C"` : col;
  });
}

/** `(k1 > ? OR (k1 = ? AND k2 > ?))`, the keyset predicate written out so both databases use the index. */
export function keysetPredicate(
  keys: readonly string[],
  op: '>' | '<=',
  next: () => string,
  values: readonly unknown[],
  params: unknown[],
): string {
  const ors: string[] = [];
  for (let i = 0; i < keys.length; i++) {
    const ands: string[] = [];
    for (let j = 0; j < i; j++) {
      ands.push(`${keys[j]} = ${next()}`);
      params.push(values[j]);
    }
    const last = i === keys.length - 1;
    const strict = op === '>' ? '>' : last ? '<=' : '<';
    ands.push(`${keys[i]} ${strict} ${next()}`);
    params.push(values[i]);
    ors.push(ands.length > 1 ? `(${ands.join(' AND ')})` : ands[0]!);
  }
  return ors.length > 1 ? `(${ors.join(' OR ')})` : ors[0]!;
}

export interface Query {
  sql: string;
  params: unknown[];
}

/** Rows with key in (after, upTo] (either bound may be absent), in key order, at most `limit`. */
export function rangeQuery(
  s: SideShape,
  after: readonly unknown[] | null,
  upTo: readonly unknown[] | null,
  limit: number | null,
  select?: string,
): Query {
  const keys = keyExprs(s);
  const next = placeholders(s.dialect, 1);
  const params: unknown[] = [];
  const where = whereConditions(s, next, params);
  if (after) where.push(keysetPredicate(keys, '>', next, after, params));
  if (upTo) where.push(keysetPredicate(keys, '<=', next, upTo, params));
  const cols = select ?? s.columns.map((c) => quoteIdent(s.dialect, c)).join(', ');
  let sql = `SELECT ${cols} FROM ${quoteTableName(s.dialect, s.table)}`;
  if (where.length) sql += ` WHERE ${where.join(' AND ')}`;
  sql += ` ORDER BY ${keys.join(', ')}`;
  if (limit !== null) {
    sql += ` LIMIT ${next()}`;
    params.push(limit);
  }
  return { sql, params };
}

/** The key of the `offset`-th row after `after`: the upper bound of a chunk, found by an index walk. */
export function boundaryQuery(s: SideShape, after: readonly unknown[] | null, offset: number): Query {
  const q = rangeQuery(
    s,
    after,
    null,
    1,
    keyExprs(s)
      .map((k, i) => `${k} AS ${quoteIdent(s.dialect, `k${i}`)}`)
      .join(', '),
  );
  const next = placeholders(s.dialect, q.params.length + 1);
  return { sql: `${q.sql} OFFSET ${next()}`, params: [...q.params, offset] };
}

/** Rows whose key is one of `keys` (re-checks, repair), in key order. */
export function keysQuery(s: SideShape, keys: readonly (readonly unknown[])[]): Query {
  const next = placeholders(s.dialect, 1);
  const params: unknown[] = [];
  const filter = whereConditions(s, next, params);
  const kcols = s.keyKinds.map((_, i) => quoteIdent(s.dialect, s.columns[i]!));
  const tuple = (k: readonly unknown[]) => {
    const ph = k.map((v) => {
      params.push(v);
      return next();
    });
    return ph.length > 1 ? `(${ph.join(', ')})` : ph[0]!;
  };
  const lhs = kcols.length > 1 ? `(${kcols.join(', ')})` : kcols[0]!;
  const cols = s.columns.map((c) => quoteIdent(s.dialect, c)).join(', ');
  const where = [...filter, `${lhs} IN (${keys.map(tuple).join(', ')})`].join(' AND ');
  return { sql: `SELECT ${cols} FROM ${quoteTableName(s.dialect, s.table)} WHERE ${where}`, params };
}
