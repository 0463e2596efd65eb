import type { EntityConfig } from '../../../config/schema.ts';
import { StranglerError } from '../../../errors/StranglerError.ts';

/**
 * Which event fields fill a read-model column of the row projection (the first present
 * wins), and its type when the projection creates the table from code alone.
 */
export interface RowColumn {
  column: string;
  /** JSON fields of the event data, tried in order (`['customer_id', 'customerId']`). */
  fields: readonly string[];
  /** SQL type for a table created from code; default `text`. E.g. `numeric(12,2)`, `timestamp(6)`, `integer`. An existing table keeps its own types. */
  type?: string;
}

const SQL_TYPE = /^[a-z][a-z0-9_ ]*(\(\d+(,\s*\d+)?\))?( with(out)? time zone)?$/i;

/** customer_id → customerId */
export function camelCase(column: string): string {
  return column.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * The read-model columns named in `reconcile.columns` (other than the key), each with the
 * fields it is filled from by default: the same-named field or its camelCase form.
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
    if (seen.has(c.column)) {
      throw new StranglerError(
        'invalid_row_columns',
        `Row projection column "${c.column}" is listed twice (or is the key); list it once, e.g. { column: '${c.column}', fields: ['${c.column}', '${camelCase(c.column)}'] }.`,
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
