import type { EntityConfig } from '../../../config/schema.ts';
import type { Executor } from '../../../db/executor.ts';
import { mysqlJsonColumns } from '../../../reconcile/columns/describeTable.ts';

/** A legacy column as the row projection needs it to create the read-model table. */
export interface LegacyColumn {
  name: string;
  /** The PostgreSQL type the read-model column gets (see pgTypeOf). */
  pgType: string;
}

/**
 * The legacy table's columns in table order, each with the PostgreSQL type its read-model
 * copy gets. Empty when the table does not exist.
 */
export async function describeLegacyTable(db: Executor, table: string): Promise<LegacyColumn[]> {
  if (db.dialect === 'mysql') {
    const { rows } = await db.query<{ name: string; dataType: string; columnType: string }>(
      `SELECT COLUMN_NAME AS name, DATA_TYPE AS dataType, COLUMN_TYPE AS columnType
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
      [table],
    );
    const json = await mysqlJsonColumns(db, table);
    return rows.map((r) => ({
      name: String(r.name),
      pgType: json.has(String(r.name)) ? 'jsonb' : pgTypeOf(String(r.dataType), String(r.columnType)),
    }));
  }
  // PostgreSQL: the same type, except types the read-model database may not have (enums,
  // extension types: text) and domains (their base type).
  const { rows } = await db.query<{ name: string; type: string; kind: string; base: string | null; builtin: boolean }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, t.typtype AS kind,
            CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END AS base,
            t.typnamespace = 'pg_catalog'::regnamespace AS builtin
       FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
      WHERE a.attrelid = to_regclass(quote_ident($1)) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [table],
  );
  return rows.map((r) => ({ name: r.name, pgType: r.kind === 'd' && r.base ? r.base : r.builtin ? r.type : 'text' }));
}

const MYSQL_TYPES: Record<string, string> = {
  mediumint: 'integer',
  year: 'smallint',
  float: 'real',
  double: 'double precision',
  real: 'double precision',
  tinytext: 'text',
  text: 'text',
  mediumtext: 'text',
  longtext: 'text',
  enum: 'text',
  set: 'text',
  json: 'jsonb',
  date: 'date',
  uuid: 'uuid',
  inet4: 'inet',
  inet6: 'inet',
  binary: 'bytea',
  varbinary: 'bytea',
  tinyblob: 'bytea',
  blob: 'bytea',
  mediumblob: 'bytea',
  longblob: 'bytea',
};

/**
 * MariaDB/MySQL column type → PostgreSQL type of the read-model column. Integers keep their
 * range (an unsigned one moves up a size; BIGINT UNSIGNED becomes numeric(20,0)),
 * TINYINT(1) and BIT(1) are boolean, DECIMAL(p,s) → numeric(p,s), CHAR(n)/VARCHAR(n) keep
 * their length, DATETIME(n)/TIMESTAMP(n) → timestamp(n), TIME(n) → time(n), JSON → jsonb,
 * ENUM/SET → text; anything else is text.
 */
export function pgTypeOf(dataType: string, columnType: string): string {
  const t = dataType.toLowerCase();
  const ct = columnType.toLowerCase();
  const unsigned = ct.includes('unsigned');
  const size = /\((\d+)(?:,\s*(\d+))?\)/.exec(ct);
  const n = size?.[1];
  switch (t) {
    case 'tinyint':
      return /^tinyint\(1\)/.test(ct) ? 'boolean' : 'smallint';
    case 'smallint':
      return unsigned ? 'integer' : 'smallint';
    case 'int':
    case 'integer':
      return unsigned ? 'bigint' : 'integer';
    case 'bigint':
      return unsigned ? 'numeric(20,0)' : 'bigint';
    case 'decimal':
    case 'numeric':
      return size ? `numeric(${n},${size[2] ?? 0})` : 'numeric';
    case 'bit':
      return n === undefined || n === '1' ? 'boolean' : `bit(${n})`;
    case 'char':
      return `char(${n ?? 1})`;
    case 'varchar':
      return n ? `varchar(${n})` : 'text';
    case 'datetime':
    case 'timestamp':
      return `timestamp(${n ?? 0})`;
    case 'time':
      return `time(${n ?? 0})`;
    default:
      return MYSQL_TYPES[t] ?? 'text';
  }
}

/** A column of the table the projection creates. */
export interface CreateColumn {
  column: string;
  type: string;
}

/**
 * The read-model table made from the legacy columns: every legacy column, named as
 * `reconcile.columns` maps it (the legacy key becomes `readModel.key`), key first. A string
 * is the reason it cannot be made (said when the table is missing).
 */
export function tableFromLegacy(entity: string, config: EntityConfig, legacy: readonly LegacyColumn[]): CreateColumn[] | string {
  const where = `the legacy table ${config.legacy.table}`;
  if (legacy.length === 0) return `${where} does not exist in the legacy database (entities.${entity}.legacy.table)`;
  const key = legacy.find((c) => c.name === config.legacy.key);
  if (!key)
    return `${where} has no column "${config.legacy.key}" (entities.${entity}.legacy.key); it has ${legacy.map((c) => c.name).join(', ')}`;
  const renamed = config.reconcile.columns === 'all' ? {} : config.reconcile.columns;
  const out: CreateColumn[] = [{ column: config.readModel.key, type: key.pgType }];
  for (const c of legacy) {
    if (c === key) continue;
    const column = renamed[c.name] ?? c.name;
    if (!out.some((o) => o.column === column)) out.push({ column, type: c.pgType });
  }
  return out;
}
