import { sqlState, type Executor } from '../db/executor.ts';
import { StranglerError } from '../errors/StranglerError.ts';

export type RowReader = (table: string, key: string, id: string) => Promise<Record<string, unknown> | null>;
/** Up to two rows with `column = value`: a lookup column that holds a value twice is not unique. */
export type LookupReader = (table: string, column: string, value: string | number) => Promise<Record<string, unknown>[]>;

/** Quotes an identifier the spec validated as [A-Za-z_][A-Za-z0-9_]*, for either dialect. */
export function quoteIdent(db: Executor, name: string): string {
  return db.dialect === 'mysql' ? `\`${name}\`` : `"${name}"`;
}

/**
 * The legacy database refused the row lookup of a `capture: row` command: most often the
 * route's `:id` does not fit the key column's type (`abc` against an integer column). Names
 * the column and the value; the command handler reports it as a capture error.
 */
export class LegacyRowReadError extends StranglerError {
  constructor(table: string, key: string, id: string | number, cause: unknown) {
    const state = sqlState(cause);
    super(
      'legacy_row_read_failed',
      `reading ${table} where ${key} = ${JSON.stringify(id)} failed: ${(cause as Error).message}${state ? ` (${state})` : ''}; ` +
        `check that column ${table}.${key} holds values like the route's id`,
      { status: 500, cause, details: { table, column: key, id } },
    );
  }
}

/**
 * Reads the legacy row behind a command (the after-image, `capture: row`). Values come
 * back as the driver's raw text for DECIMAL, BIGINT, timestamps and JSON.
 */
export function createLegacyRowReader(db: Executor): RowReader {
  const ph = db.dialect === 'mysql' ? '?' : '$1';
  return async (table, key, id) => {
    try {
      const { rows } = await db.query<Record<string, unknown>>(
        `SELECT * FROM ${quoteIdent(db, table)} WHERE ${quoteIdent(db, key)} = ${ph}`,
        [id],
      );
      return rows[0] ?? null;
    } catch (err) {
      throw new LegacyRowReadError(table, key, id, err);
    }
  };
}

/** Reads the rows behind a `lookup` (`WHERE column = value LIMIT 2`); errors as LegacyRowReadError. */
export function createLegacyLookupReader(db: Executor): LookupReader {
  const ph = db.dialect === 'mysql' ? '?' : '$1';
  return async (table, column, value) => {
    try {
      const { rows } = await db.query<Record<string, unknown>>(
        `SELECT * FROM ${quoteIdent(db, table)} WHERE ${quoteIdent(db, column)} = ${ph} LIMIT 2`,
        [value],
      );
      return rows;
    } catch (err) {
      throw new LegacyRowReadError(table, column, value, err);
    }
  };
}
