import type { Executor } from '../../db/executor.ts';
import { StranglerError } from '../../errors/StranglerError.ts';

/** A column as the database declares it (information_schema), lower-cased. */
export interface ColumnInfo {
  name: string;
  /** DATA_TYPE: `varchar`, `decimal`, `timestamp without time zone`, `jsonb`, … */
  dataType: string;
  /** MySQL COLUMN_TYPE (`tinyint(1)`, `binary(16)`, `int(10) unsigned`); pg udt_name. */
  columnType: string;
  scale: number | null;
  /** Fractional-second digits of DATETIME/TIMESTAMP columns. */
  fraction: number | null;
  collation: string | null;
  /** MariaDB stores JSON as LONGTEXT with a json_valid() check; this says it is one. */
  json: boolean;
}

const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

function toInfo(r: Record<string, unknown>, json: boolean): ColumnInfo {
  return {
    name: String(r.name),
    dataType: String(r.dataType).toLowerCase(),
    columnType: String(r.columnType).toLowerCase(),
    scale: num(r.scale),
    fraction: num(r.fraction),
    collation: r.collation === null ? null : String(r.collation),
    json,
  };
}

/** The columns of a table, in table order; refuses a table that does not exist. */
export async function describeTable(db: Executor, table: string, side: string): Promise<ColumnInfo[]> {
  const cols = db.dialect === 'mysql' ? await describeMysql(db, table) : await describePg(db, table);
  if (!cols.length) {
    throw new StranglerError(
      'reconcile_table_missing',
      `The ${side} table "${table}" does not exist (or has no columns) in the ${side} database; check entities.*.${side === 'legacy' ? 'legacy' : 'readModel'}.table.`,
      { status: 400 },
    );
  }
  return cols;
}

async function describeMysql(db: Executor, table: string): Promise<ColumnInfo[]> {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT COLUMN_NAME AS name, DATA_TYPE AS dataType, COLUMN_TYPE AS columnType, NUMERIC_SCALE AS scale,
            DATETIME_PRECISION AS fraction, COLLATION_NAME AS collation
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
    [table],
  );
  const jsonCols = await mysqlJsonColumns(db, table);
  return rows.map((r) => toInfo(r, jsonCols.has(String(r.name))));
}

/**
 * The JSON columns of a MariaDB/MySQL table: MariaDB's JSON alias is LONGTEXT CHECK
 * (json_valid(col)), so information_schema.COLUMNS alone calls them longtext.
 */
export async function mysqlJsonColumns(db: Executor, table: string): Promise<Set<string>> {
  const { rows: checks } = await db
    .query<{ clause: string }>(
      `SELECT CHECK_CLAUSE AS clause FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = ?`,
      [table],
    )
    .catch(() => ({ rows: [] as { clause: string }[] }));
  return new Set(checks.flatMap((c) => [...String(c.clause).matchAll(/json_valid\(`([^`]+)`\)/gi)].map((m) => m[1]!)));
}

async function describePg(db: Executor, table: string): Promise<ColumnInfo[]> {
  const [schema, name] = table.includes('.') ? table.split('.', 2) : [null, table];
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT column_name AS name, data_type AS "dataType", udt_name AS "columnType", numeric_scale AS scale,
            datetime_precision AS fraction, collation_name AS collation
       FROM information_schema.columns
      WHERE table_schema = COALESCE($1, current_schema()) AND table_name = $2 ORDER BY ordinal_position`,
    [schema, name],
  );
  return rows.map((r) => toInfo(r, false));
}

/**
 * How a text key column orders and compares, from its collation. `bytewise`: the database
 * walks it in byte (code point) order, like PostgreSQL's "C" and MySQL's `_bin` collations;
 * otherwise (utf8mb4_general_ci, utf8mb4_0900_ai_ci, latin1_swedish_ci, en_US.utf8, ICU …)
 * the walk follows the database's own order and keys equal under the collation may differ in
 * bytes. `padSpace`: trailing blanks are ignored when comparing ('x' = 'x ').
 */
export interface KeyCollation {
  /** The column's collation; on PostgreSQL the database default's name when the column has none. */
  collation: string | null;
  bytewise: boolean;
  padSpace: boolean;
}

const PG_BYTEWISE = new Set(['c', 'posix', 'ucs_basic', 'pg_c_utf8', 'c.utf8', 'c.utf-8']);

export async function keyCollation(db: Executor, c: ColumnInfo): Promise<KeyCollation> {
  if (db.dialect === 'mysql') {
    if (!c.collation) return { collation: null, bytewise: true, padSpace: false };
    // MySQL 8's _0900_ collations and MariaDB's _nopad_ ones are NO PAD; the others PAD SPACE.
    const padSpace = !/(_0900_|nopad)/i.test(c.collation);
    return { collation: c.collation, bytewise: /(_bin|^binary)$/i.test(c.collation), padSpace };
  }
  // bpchar (CHAR(n)) compares without its trailing blanks whatever the collation.
  const padSpace = c.dataType === 'character';
  if (c.dataType !== 'text' && c.dataType !== 'character varying' && c.dataType !== 'character')
    return { collation: c.collation, bytewise: true, padSpace };
  let name = c.collation;
  if (name === null || name === 'default') {
    const { rows } = await db.query<{ c: string; icu: boolean }>(
      `SELECT datcollate AS c, (to_jsonb(d) ->> 'datlocprovider') = 'i' AS icu FROM pg_database d WHERE datname = current_database()`,
    );
    if (rows[0]?.icu) return { collation: 'database default (ICU)', bytewise: false, padSpace };
    name = rows[0]?.c ?? 'C';
  }
  return { collation: name, bytewise: PG_BYTEWISE.has(name.toLowerCase()), padSpace };
}
