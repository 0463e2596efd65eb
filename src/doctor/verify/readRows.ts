import type { Executor } from '../../db/executor.ts';
import type { ExpectedTable } from '../../projections/types.ts';
import type { Row } from './compareRows.ts';
import { quoteTable } from './readModelTables.ts';

const quote = (column: string) => `"${column.replaceAll('"', '""')}"`;

/**
 * The read-model rows a stream's expectation selects (`where`), every compared column as
 * text: the column types belong to the projection module, compareRows copes with them.
 */
export async function readRows(db: Executor, physical: string, expected: ExpectedTable): Promise<Row[]> {
  const columns = new Set<string>([...Object.keys(expected.where), ...(expected.key ?? [])]);
  for (const r of expected.rows) for (const c of Object.keys(r)) columns.add(c);
  const where = Object.keys(expected.where);
  const { rows } = await db.query<Record<string, string | null>>(
    `SELECT ${[...columns].map((c) => `${quote(c)}::text AS ${quote(c)}`).join(', ')}
       FROM ${quoteTable(physical)} WHERE ${where.map((c, i) => `${quote(c)} = $${i + 1}`).join(' AND ') || 'false'}`,
    where.map((c) => expected.where[c]),
  );
  return rows;
}
