import type { Dialect, Executor } from '../../db/executor.ts';
import type { ColumnPlan } from '../encoding/kinds.ts';
import { encodeRow, hashPrefix, MOD64, rowHash } from '../encoding/rowEncoding.ts';
import type { EntityPlan } from '../engine/entityPlan.ts';
import type { Prefilter } from '../engine/prefilter.ts';
import { whereConditions } from '../engine/sideFilter.ts';
import { keyExprs, placeholders, quoteIdent, quoteTableName, rangeQuery, type Query, type SideShape } from '../engine/sideSql.ts';
import { cutsQuery, piecesQuery, rangesRowsQuery } from './segmentSql.ts';
import { probeQuery } from '../engine/keyedWalk.ts';

/**
 * The row encoding written in SQL, so a database can checksum a key range itself: count and
 * Σ of the first 8 bytes of each row's sha256, the same figure the TypeScript side sums.
 * Equal checksums skip the chunk; different ones send it through the TypeScript merge,
 * which stays the authority. Only kinds whose canonical text the databases print the same
 * way are written here (integers, decimals, text, booleans, dates, timestamps); a column with
 * rules, JSON, floats, UUIDs, bytes, or a text column compared with a typed one turns the
 * prefilter off for the entity, with the reason in the report. And even then it is used only
 * after a self-test: the database's hash of sampled rows must equal the TypeScript one.
 */
const SAMPLE = 200;

const TAGS = { integer: '49', decimal: '44', string: '53', bool: '42', date: '41', timestamp: '54' } as const;
type SqlKind = keyof typeof TAGS;

function unsupported(p: ColumnPlan): string | null {
  if (p.rules.length) return `column ${p.legacy} has comparison rules (${p.rules.join(', ')})`;
  if (!(p.kind in TAGS)) return `column ${p.legacy} is compared as ${p.kind}`;
  const textual = (t: string) => /char|text|enum|set/.test(t);
  if (p.kind !== 'string' && (textual(p.types.legacy) || textual(p.types.readModel)))
    return `column ${p.legacy} is text on one side and ${p.kind} on the other`;
  if (p.kind === 'bool' && p.types.legacy !== 'boolean' && p.types.legacy !== 'tinyint')
    return `column ${p.legacy} is a ${p.types.legacy} boolean`;
  if (p.kind === 'decimal' && p.scale > 30) return `column ${p.legacy} has scale ${p.scale}`;
  return null;
}

/** Canonical text of one column, in SQL. */
function canonicalText(d: Dialect, p: ColumnPlan, type: string, col: string): string {
  const kind = p.kind as SqlKind;
  if (d === 'mysql') {
    switch (kind) {
      case 'string':
        return `CONVERT(${col} USING utf8mb4)`;
      case 'integer':
      case 'bool':
        return `CAST(${col} AS CHAR)`;
      case 'decimal':
        return `CAST(CAST(${col} AS DECIMAL(65,${p.scale})) AS CHAR)`;
      case 'date':
        return `DATE_FORMAT(${col}, '%Y-%m-%d')`;
      case 'timestamp':
        return p.fraction > 0
          ? `CONCAT(DATE_FORMAT(${col}, '%Y-%m-%dT%H:%i:%s.'), LEFT(DATE_FORMAT(${col}, '%f'), ${p.fraction}), 'Z')`
          : `DATE_FORMAT(${col}, '%Y-%m-%dT%H:%i:%sZ')`;
    }
  }
  switch (kind) {
    case 'string':
      return `${col}::text`;
    case 'integer':
      return `${col}::text`;
    case 'bool':
      return type === 'boolean' ? `CASE WHEN ${col} THEN '1' ELSE '0' END` : `${col}::text`;
    case 'decimal':
      return `round(${col}::numeric, ${p.scale})::text`;
    case 'date':
      return `to_char(${col}, 'YYYY-MM-DD')`;
    case 'timestamp': {
      const utc = type.includes('with time zone') ? `(${col} AT TIME ZONE 'UTC')` : col;
      return p.fraction > 0
        ? `to_char(${utc}, 'YYYY-MM-DD"T"HH24:MI:SS.') || left(to_char(${utc}, 'US'), ${p.fraction}) || 'Z'`
        : `to_char(${utc}, 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`;
    }
  }
}

/** tag, 4-byte big-endian length, UTF-8 bytes; NULL = its tag and length 0. */
function columnBytes(d: Dialect, p: ColumnPlan, type: string, name: string): string {
  const col = quoteIdent(d, name);
  const text = canonicalText(d, p, type, col);
  const tag = TAGS[p.kind as SqlKind];
  if (d === 'mysql') {
    return `IF(${col} IS NULL, UNHEX('4E00000000'), CONCAT(UNHEX('${tag}'), UNHEX(LPAD(HEX(LENGTH(${text})), 8, '0')), CONVERT(${text} USING binary)))`;
  }
  return `CASE WHEN ${col} IS NULL THEN '\\x4e00000000'::bytea ELSE '\\x${tag}'::bytea || int4send(octet_length(convert_to(${text}, 'UTF8'))) || convert_to(${text}, 'UTF8') END`;
}

/** The row's hash prefix as an integer expression (unsigned on MySQL, signed on PostgreSQL: equal mod 2^64). */
function prefixExpr(d: Dialect, plan: EntityPlan, side: 'legacy' | 'readModel'): string {
  const parts = plan.columns.map((p) => columnBytes(d, p, p.types[side], p[side]));
  if (d === 'mysql') return `CAST(CONV(LEFT(SHA2(CONCAT(${parts.join(', ')}), 256), 16), 16, 10) AS UNSIGNED)`;
  return `('x' || encode(substr(sha256(${parts.join(' || ')}), 1, 8), 'hex'))::bit(64)::bigint`;
}

const mod64 = (v: unknown) => ((BigInt(String(v ?? '0')) % MOD64) + MOD64) % MOD64;

const sumOf = (dialect: Executor['dialect'], prefix: string) =>
  dialect === 'mysql' ? `CAST(COALESCE(SUM(${prefix}), 0) AS CHAR)` : `COALESCE(sum(${prefix}), 0)::text`;

function checksumQuery(
  dialect: Executor['dialect'],
  shape: SideShape,
  prefix: string,
): (after: unknown[] | null, upTo: unknown[] | null) => Query {
  return (after, upTo) => {
    const sum = dialect === 'mysql' ? `CAST(COALESCE(SUM(${prefix}), 0) AS CHAR)` : `COALESCE(sum(${prefix}), 0)::text`;
    const q = rangeQuery(shape, after, upTo, null, `COUNT(*) AS n, ${sum} AS s`);
    // An aggregate needs no ORDER BY (and PostgreSQL refuses one with an ungrouped column).
    return { sql: q.sql.replace(/ ORDER BY [^]*$/, ''), params: q.params };
  };
}

export interface PrefilterSetup {
  prefilter: Prefilter | null;
  status: { enabled: boolean; reason: string };
}

/** Builds the prefilter for an entity and self-tests it on sampled rows of both sides. */
export async function createSqlPrefilter(
  plan: EntityPlan,
  legacy: Executor,
  store: Executor,
  legacyQuery?: (sql: string, params: readonly unknown[]) => Promise<{ rows: unknown[][] }>,
): Promise<PrefilterSetup> {
  const off = (reason: string): PrefilterSetup => ({ prefilter: null, status: { enabled: false, reason } });
  if (store.dialect === 'pglite') return off('the embedded store runs on the event loop; no gain from an in-database checksum');
  for (const p of plan.columns) {
    const why = unsupported(p);
    if (why) return off(`${why}: no in-database form, rows are compared in TypeScript`);
  }
  const lp = prefixExpr(legacy.dialect, plan, 'legacy');
  const rp = prefixExpr(store.dialect, plan, 'readModel');
  for (const [side, db, shape, prefix] of [
    ['legacy', legacy, plan.legacy, lp],
    ['read model', store, plan.readModel, rp],
  ] as const) {
    try {
      const q = rangeQuery(shape, null, null, SAMPLE, `${prefix} AS p, ${shape.columns.map((c) => quoteIdent(db.dialect, c)).join(', ')}`);
      const { rows } =
        side === 'legacy' && legacyQuery
          ? await legacyQuery(q.sql, q.params)
          : await db.query<unknown[]>(q.sql, q.params, { arrays: true });
      for (const r of rows) {
        const ts = hashPrefix(rowHash(encodeRow(plan.columns, r.slice(1)).bytes));
        if (mod64(r[0]) !== ts)
          return off(`self-test failed: the ${side} database hashes row ${String(r[1])} differently from the TypeScript encoding`);
      }
      if (!rows.length) return off(`self-test impossible: the ${side} table is empty`);
    } catch (err) {
      return off(`self-test failed on the ${side} database: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return {
    prefilter: {
      legacy: checksumQuery(legacy.dialect, plan.legacy, lp),
      readModel: checksumQuery(store.dialect, plan.readModel, rp),
      read: (row) => ({ count: Number(row?.[0] ?? 0), sum: mod64(row?.[1]) }),
      narrow: {
        cuts: (side, after, upTo, step) => cutsQuery(plan[side], after, upTo, step),
        pieces: (side, after, upTo, cuts) => piecesQuery(plan[side], side === 'legacy' ? lp : rp, after, upTo, cuts),
        rows: (side, ranges) => rangesRowsQuery(plan[side], ranges),
      },
      keyed: {
        legacy: (after, limit) =>
          rangeQuery(plan.legacy, after, null, limit, `${quoteIdent(legacy.dialect, plan.legacy.columns[0]!)}, ${lp}`),
        readModel: (keys) => probeQuery(plan, `${quoteIdent(store.dialect, plan.readModel.columns[0]!)}, ${rp} AS strangler_p`, keys),
        readModelSum: (keys) => {
          const q = probeQuery(plan, `${rp} AS strangler_p`, keys);
          return { sql: `SELECT COUNT(*), COALESCE(sum(strangler_p), 0)::text FROM (${q.sql}) AS probed`, params: q.params };
        },
        readModelRangeSum: (first, last) => {
          const s = plan.readModel;
          const k = keyExprs(s)[0]!;
          const next = placeholders(s.dialect, 1);
          const params: unknown[] = [];
          const conds = whereConditions(s, next, params);
          conds.push(`${k} >= ${next()}`, `${k} <= ${next()}`);
          params.push(first, last);
          const sql = `SELECT COUNT(*), ${sumOf(s.dialect, rp)} FROM ${quoteTableName(s.dialect, s.table)} WHERE ${conds.join(' AND ')}`;
          return { sql, params };
        },
      },
    },
    status: { enabled: true, reason: `self-test passed on up to ${SAMPLE} rows per side` },
  };
}
