import { whereConditions } from '../engine/sideFilter.ts';
import { keyExprs, keysetPredicate, placeholders, quoteIdent, quoteTableName, type Query, type SideShape } from '../engine/sideSql.ts';

/**
 * SQL that narrows a differing key range inside the databases (bisection as data-diff does
 * it, k-way): where to cut the range, and the checksum of each piece on either side.
 */

/** `WHERE` for the side's filtered rows with keys in (after, upTo]; either bound may be absent. */
function rangeWhere(
  s: SideShape,
  after: readonly unknown[] | null,
  upTo: readonly unknown[] | null,
  next: () => string,
  params: unknown[],
) {
  const keys = keyExprs(s);
  const where = whereConditions(s, next, params);
  if (after) where.push(keysetPredicate(keys, '>', next, after, params));
  if (upTo) where.push(keysetPredicate(keys, '<=', next, upTo, params));
  return where.length ? ` WHERE ${where.join(' AND ')}` : '';
}

/**
 * The keys of every `step`-th row in (after, upTo], in key order: the cuts that split the
 * range into pieces of `step` rows of this side. One index walk; no row leaves the database
 * but the cut keys.
 */
export function cutsQuery(s: SideShape, after: readonly unknown[] | null, upTo: readonly unknown[] | null, step: number): Query {
  const keys = keyExprs(s);
  const next = placeholders(s.dialect, 1);
  const params: unknown[] = [];
  const cols = keys.map((k, i) => `${k} AS ${quoteIdent(s.dialect, `k${i}`)}`).join(', ');
  const inner = `SELECT ${cols}, ROW_NUMBER() OVER (ORDER BY ${keys.join(', ')}) AS rn FROM ${quoteTableName(s.dialect, s.table)}${rangeWhere(s, after, upTo, next, params)}`;
  const outCols = keys.map((_, i) => quoteIdent(s.dialect, `k${i}`)).join(', ');
  const sql = `SELECT ${outCols} FROM (${inner}) AS cuts WHERE MOD(rn, ${next()}) = 0 ORDER BY rn`;
  params.push(step);
  return { sql, params };
}

/**
 * Per piece of (after, upTo] cut at `cuts` (piece i = (cuts[i-1], cuts[i]], the first from
 * `after`, the last to `upTo`): the piece's index, its row count and Σ of row-hash prefixes,
 * in one scan of the range. The piece of a row is found by a balanced CASE tree over the
 * cuts (log2 comparisons per row). Pieces without rows are absent from the answer.
 */
export function piecesQuery(
  s: SideShape,
  prefix: string,
  after: readonly unknown[] | null,
  upTo: readonly unknown[] | null,
  cuts: readonly (readonly unknown[])[],
): Query {
  const keys = keyExprs(s);
  const next = placeholders(s.dialect, 1);
  const params: unknown[] = [];
  const tree = (lo: number, hi: number): string => {
    if (lo === hi) return String(lo);
    const mid = (lo + hi) >> 1;
    const cond = keysetPredicate(keys, '<=', next, cuts[mid]!, params);
    const left = tree(lo, mid);
    return `CASE WHEN ${cond} THEN ${left} ELSE ${tree(mid + 1, hi)} END`;
  };
  const piece = tree(0, cuts.length);
  const from = `${quoteTableName(s.dialect, s.table)}${rangeWhere(s, after, upTo, next, params)}`;
  const sum = s.dialect === 'mysql' ? 'CAST(COALESCE(SUM(p), 0) AS CHAR)' : 'COALESCE(sum(p), 0)::text';
  return {
    sql: `SELECT piece, COUNT(*) AS n, ${sum} AS s FROM (SELECT ${piece} AS piece, ${prefix} AS p FROM ${from}) AS pieces GROUP BY piece`,
    params,
  };
}

/** Rows of several disjoint key ranges at once, in key order: the narrowed ranges' rows, fetched in one statement per side. */
export function rangesRowsQuery(
  s: SideShape,
  ranges: readonly { after: readonly unknown[] | null; upTo: readonly unknown[] | null }[],
): Query {
  const keys = keyExprs(s);
  const next = placeholders(s.dialect, 1);
  const params: unknown[] = [];
  const filter = whereConditions(s, next, params);
  const ors = ranges.map(({ after, upTo }) => {
    const parts: string[] = [];
    if (after) parts.push(keysetPredicate(keys, '>', next, after, params));
    if (upTo) parts.push(keysetPredicate(keys, '<=', next, upTo, params));
    return parts.length ? `(${parts.join(' AND ')})` : 'TRUE';
  });
  const cols = s.columns.map((c) => quoteIdent(s.dialect, c)).join(', ');
  return {
    sql: `SELECT ${cols} FROM ${quoteTableName(s.dialect, s.table)} WHERE ${[...filter, `(${ors.join(' OR ')})`].join(' AND ')} ORDER BY ${keys.join(', ')}`,
    params,
  };
}
