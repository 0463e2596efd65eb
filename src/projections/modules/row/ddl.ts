import { ident, tableIdent } from '../sql.ts';
import type { CreateColumn } from './legacyTable.ts';

/**
 * The row projection's bookkeeping, one row per key: the stream version last applied, whether
 * the row was deleted (a tombstone: a replayed create cannot bring it back) and the merged
 * JSON document. Keyed by the stream's `{id}` text, whatever the user table's key type.
 */
export function sideTableDdl(side: string): string {
  return `CREATE TABLE IF NOT EXISTS ${tableIdent(side)} (
  key      text    PRIMARY KEY,
  version  bigint  NOT NULL,
  deleted  boolean NOT NULL DEFAULT false,
  document jsonb
);`;
}

export interface RowTableDdl {
  /** Physical name the table gets (a rebuild's fresh name, or the served one). */
  table: string;
  /** The served name: a rebuild copies the served table's shape when there is one. */
  served: string;
  key: string;
  /** Columns to create the table with (key first), or why it cannot be created. */
  create: readonly CreateColumn[] | string;
}

const literal = (s: string) => `'${s.replaceAll("'", "''")}'`;

export function createTableSql(table: string, key: string, columns: readonly CreateColumn[]): string {
  const cols = columns.map((c) => `${ident(c.column)} ${c.type}${c.column === key ? ' PRIMARY KEY' : ''}`);
  return `CREATE TABLE IF NOT EXISTS ${tableIdent(table)} (${cols.join(', ')})`;
}

/** SQL that is true when `table` has the row projection's old shape (its own document and last_version columns). */
export function oldShapeSql(table: string): string {
  return `(SELECT count(*) FROM pg_attribute WHERE attrelid = to_regclass(${literal(tableIdent(table))}) AND attname IN ('document', 'last_version') AND NOT attisdropped) = 2`;
}

/**
 * The user's read-model table, only when it does not exist: an existing table is used as it is.
 * A rebuild's fresh table copies the served table (LIKE, without defaults: the projection
 * writes every column) unless that one has the old shape; otherwise the table is made from
 * the legacy columns, or the DDL fails saying how to get a table.
 */
export function rowTableDdl(o: RowTableDdl): string {
  const make =
    typeof o.create === 'string'
      ? `RAISE EXCEPTION '%', ${literal(
          `The read-model table ${o.served} does not exist and the row projection cannot create it: ${o.create}. ` +
            `Create the table (its key column "${o.key}" with a primary key, one column per field) or set legacy.database.url ` +
            `so the sidecar creates it from the legacy table's columns.`,
        )};`
      : `EXECUTE ${literal(createTableSql(o.table, o.key, o.create))};`;
  const schema = o.table.includes('.') ? o.table.split('.')[0]! : null;
  const ensureSchema = schema
    ? `IF to_regnamespace(${literal(ident(schema))}) IS NULL THEN EXECUTE ${literal(`CREATE SCHEMA IF NOT EXISTS ${ident(schema)}`)}; END IF;`
    : '';
  const body =
    o.table === o.served
      ? make
      : `IF to_regclass(${literal(tableIdent(o.served))}) IS NOT NULL AND NOT ${oldShapeSql(o.served)} THEN
      EXECUTE ${literal(`CREATE TABLE IF NOT EXISTS ${tableIdent(o.table)} (LIKE ${tableIdent(o.served)} INCLUDING ALL EXCLUDING DEFAULTS)`)};
    ELSE
      ${make}
    END IF;`;
  return `DO $strangler$ BEGIN
  IF to_regclass(${literal(tableIdent(o.table))}) IS NULL THEN
    ${ensureSchema}
    ${body}
  END IF;
END $strangler$;`;
}
