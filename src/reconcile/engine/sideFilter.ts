import type { WhereSpec } from '../../config/whereSchema.ts';
import type { Dialect } from '../../db/executor.ts';
import { StranglerError } from '../../errors/StranglerError.ts';
import type { ColumnInfo } from '../columns/describeTable.ts';
import { quoteIdent } from './sideSql.ts';

/**
 * A side's row filter (`reconcile.where.legacy` / `.readModel`) as SQL conditions, for every
 * statement that reads the side's rows: the chunk walk, the in-database checksums, the
 * narrowing and the re-checks. Not the repair's read of the legacy after-image: a row one
 * side filters out still exists, so a repair carries its image instead of removing it.
 * Columns are quoted identifiers checked against the table (checkWhere); values are parameters.
 */
export function whereConditions(s: { dialect: Dialect; where?: WhereSpec | undefined }, next: () => string, params: unknown[]): string[] {
  const out: string[] = [];
  for (const [column, cond] of Object.entries(s.where ?? {})) {
    const col = quoteIdent(s.dialect, column);
    const param = (v: unknown) => {
      params.push(v);
      return next();
    };
    if (cond === null) out.push(`${col} IS NULL`);
    else if (typeof cond !== 'object') out.push(`${col} = ${param(cond)}`);
    else if ('not' in cond) out.push(cond.not === null ? `${col} IS NOT NULL` : `(${col} IS NULL OR ${col} <> ${param(cond.not)})`);
    else out.push(`${col} IN (${cond.in.map(param).join(', ')})`);
  }
  return out;
}

/** Refuses a filter naming a column the side's table does not have. */
export function checkWhere(o: {
  entity: string;
  side: 'legacy' | 'readModel';
  table: string;
  dialect: Dialect;
  where: WhereSpec | undefined;
  columns: readonly ColumnInfo[];
}): void {
  for (const column of Object.keys(o.where ?? {})) {
    const found = o.columns.some((c) => c.name === column || (o.dialect === 'mysql' && c.name.toLowerCase() === column.toLowerCase()));
    if (found) continue;
    const sideName = o.side === 'legacy' ? 'legacy' : 'read-model';
    throw new StranglerError(
      'reconcile_where',
      `entities.${o.entity}.reconcile.where.${o.side}: the ${sideName} table ${o.table} has no column "${column}" ` +
        `(its columns: ${o.columns.map((c) => c.name).join(', ')}); e.g. where: { ${o.side}: { record_status: { not: deleted } } }`,
      { status: 400 },
    );
  }
}
