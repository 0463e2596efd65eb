import type { EntityConfig } from '../../../config/schema.ts';
import { StranglerError } from '../../../errors/StranglerError.ts';
import { ident } from '../sql.ts';

/**
 * One typed read-model column of the row projection: filled from the first of `fields`
 * present in the row's merged document, cast to `type`.
 */
export interface RowColumn {
  column: string;
  /** JSON fields of the event data, tried in order (`['customer_id', 'customerId']`). */
  fields: readonly string[];
  /** SQL type; default `text`. E.g. `numeric(12,2)`, `timestamp(6)`, `integer`. */
  type?: string;
}

export const RESERVED_COLUMNS = ['document', 'last_version'] as const;
const SQL_TYPE = /^[a-z][a-z0-9_ ]*(\(\d+(,\s*\d+)?\))?( with(out)? time zone)?$/i;

/** customer_id → customerId */
export function camelCase(column: string): string {
  return column.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * The default column map: the read-model columns named in `reconcile.columns` (other than
 * the key), each filled from the same-named field or its camelCase form, as text. With
 * `reconcile.columns: all` there is none: the row is its key and its document. Give typed
 * columns in code (`createRowProjection({ columns })`) where reconciliation compares them
 * as numbers or times.
 */
export function defaultRowColumns(entity: EntityConfig): RowColumn[] {
  const cols = entity.reconcile.columns;
  if (cols === 'all') return [];
  return [...new Set(Object.values(cols))]
    .filter((c) => c !== entity.readModel.key)
    .map((column) => ({ column, fields: [...new Set([column, camelCase(column)])] }));
}

export function checkRowColumns(columns: readonly RowColumn[], key: string): void {
  const seen = new Set<string>([key]);
  for (const c of columns) {
    const reserved = (RESERVED_COLUMNS as readonly string[]).includes(c.column);
    if (reserved || seen.has(c.column)) {
      throw new StranglerError(
        'invalid_row_columns',
        `Row projection column "${c.column}" is ${reserved ? 'reserved' : 'listed twice (or is the key)'}; name it otherwise, e.g. { column: '${c.column}_value', fields: ['${c.column}'] }.`,
      );
    }
    if (c.fields.length === 0)
      throw new StranglerError(
        'invalid_row_columns',
        `Row projection column "${c.column}" has no fields; e.g. { column: '${c.column}', fields: ['${camelCase(c.column)}'] }.`,
      );
    if (c.type !== undefined && !SQL_TYPE.test(c.type)) {
      throw new StranglerError(
        'invalid_row_columns',
        `Row projection column "${c.column}" has type "${c.type}"; use a plain SQL type like numeric(12,2) or timestamp(6).`,
      );
    }
    seen.add(c.column);
  }
}

const literal = (s: string) => `'${s.replaceAll("'", "''")}'`;

/** SQL filling the column from a jsonb document expression. */
export function columnExpr(c: RowColumn, doc: string): string {
  const value =
    c.fields.length === 1 ? `${doc}->>${literal(c.fields[0]!)}` : `COALESCE(${c.fields.map((f) => `${doc}->>${literal(f)}`).join(', ')})`;
  return `CAST(${value} AS ${c.type ?? 'text'})`;
}

export const columnDdl = (c: RowColumn) => `${ident(c.column)} ${c.type ?? 'text'}`;
