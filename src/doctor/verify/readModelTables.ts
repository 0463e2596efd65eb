import type { Executor } from '../../db/executor.ts';
import { StranglerError } from '../../errors/StranglerError.ts';

const IDENT = /^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$/;

/** "carts" → "\"carts\"", "rm.carts_v2" → "\"rm\".\"carts_v2\"". Refuses anything else. */
export function quoteTable(name: string): string {
  if (!IDENT.test(name))
    throw new StranglerError(
      'bad_table_name',
      `Read-model table name ${JSON.stringify(name)} is not a plain identifier (example: carts or rm.carts_v2).`,
      { status: 500 },
    );
  return name
    .split('.')
    .map((p) => `"${p}"`)
    .join('.');
}

/**
 * The physical tables a projection serves from right now: strangler_projections.tables
 * maps logical → physical (a rebuild swaps them). Logical names are used where the row or
 * the entry is missing (the projection has not run yet, or keeps its tables unrenamed).
 */
export async function readModelTables(db: Executor, projection: string, logical: readonly string[]): Promise<Record<string, string>> {
  const { rows: exists } = await db.query<{ t: string | null }>(`SELECT to_regclass('strangler_projections')::text AS t`);
  let mapped: Record<string, unknown> = {};
  if (exists[0]?.t) {
    const { rows } = await db.query<{ tables: string | Record<string, unknown> }>(
      'SELECT tables FROM strangler_projections WHERE name = $1',
      [projection],
    );
    const t = rows[0]?.tables;
    mapped = typeof t === 'string' ? (JSON.parse(t) as Record<string, unknown>) : (t ?? {});
  }
  return Object.fromEntries(logical.map((l) => [l, typeof mapped[l] === 'string' ? mapped[l] : l]));
}
