import type { Executor } from '../db/executor.ts';

export type RowReader = (table: string, key: string, id: string) => Promise<Record<string, unknown> | null>;

/** Quotes an identifier the spec validated as [A-Za-z_][A-Za-z0-9_]*, for either dialect. */
export function quoteIdent(db: Executor, name: string): string {
  return db.dialect === 'mysql' ? `\`${name}\`` : `"${name}"`;
}

/**
 * Reads the legacy row behind a command (the after-image, `capture: row`). Values come
 * back as the driver's raw text for DECIMAL, BIGINT, timestamps and JSON.
 */
export function createLegacyRowReader(db: Executor): RowReader {
  const ph = db.dialect === 'mysql' ? '?' : '$1';
  return async (table, key, id) => {
    const { rows } = await db.query<Record<string, unknown>>(
      `SELECT * FROM ${quoteIdent(db, table)} WHERE ${quoteIdent(db, key)} = ${ph}`,
      [id],
    );
    return rows[0] ?? null;
  };
}
