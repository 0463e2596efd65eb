import type { Executor } from '../../../db/executor.ts';
import { ident, tableIdent } from '../sql.ts';
import { columnDdl, columnExpr, type RowColumn } from './columns.ts';
import type { RowChange } from './fold.ts';

export interface RowTable {
  table: string;
  key: string;
  keyType: string;
  columns: readonly RowColumn[];
}

/** The row table: key, typed columns, the merged document and the idempotency guard. */
export function rowDdl(t: RowTable): string {
  const cols = t.columns.map((c) => `  ${columnDdl(c)},\n`).join('');
  return `CREATE TABLE IF NOT EXISTS ${tableIdent(t.table)} (
  ${ident(t.key)} ${t.keyType} PRIMARY KEY,
${cols}  document     jsonb  NOT NULL,
  last_version bigint NOT NULL
);`;
}

// Not prepared (no statement name): a generic plan made while the read model was empty
// (a rebuild from position 0) would keep seq-scanning it once it holds millions of rows.
// Planning once per batch costs well under a millisecond.
async function run(tx: Executor, _what: string, sql: string, params: unknown[]): Promise<void> {
  await tx.query(sql, params);
}

/** Deletes, then creates (whole rows, upserted), then merges: a few statements per batch. */
export async function writeRowChanges(tx: Executor, t: RowTable, changes: readonly RowChange[]): Promise<void> {
  const table = tableIdent(t.table);
  const key = ident(t.key);
  const names = t.columns.map((c) => ident(c.column));

  const deleted = changes.filter((c) => c.existed && c.deleted).map((c) => c.key);
  if (deleted.length) await run(tx, 'row_delete', `DELETE FROM ${table} WHERE ${key} = ANY($1::${t.keyType}[])`, [deleted]);

  const created = changes.flatMap((c) => (c.document && !c.deleted ? [{ k: c.key, doc: c.document, v: c.lastVersion }] : []));
  if (created.length) {
    const set = [...names, 'document', 'last_version'].map((n) => `${n} = EXCLUDED.${n}`).join(', ');
    await run(
      tx,
      'row_insert',
      `INSERT INTO ${table} AS r (${[key, ...names, 'document', 'last_version'].join(', ')})
      SELECT CAST(c.k AS ${t.keyType}), ${t.columns.map((col) => `${columnExpr(col, 'c.doc')}, `).join('')}c.doc, c.v
        FROM json_to_recordset($1::json) AS c(k text, doc jsonb, v bigint)
      ON CONFLICT (${key}) DO UPDATE SET ${set} WHERE r.last_version < EXCLUDED.last_version`,
      [JSON.stringify(created)],
    );
  }

  const merged = changes.flatMap((c) => (c.existed && !c.document && !c.deleted ? [{ k: c.key, patch: c.patch, v: c.lastVersion }] : []));
  if (merged.length) {
    const doc = '(r.document || u.patch)';
    const set = [
      ...t.columns.map((col) => `${ident(col.column)} = ${columnExpr(col, doc)}`),
      `document = ${doc}`,
      'last_version = u.v',
    ].join(', ');
    await run(
      tx,
      'row_merge',
      `UPDATE ${table} AS r SET ${set}
      FROM json_to_recordset($1::json) AS u(k text, patch jsonb, v bigint)
      WHERE r.${key} = CAST(u.k AS ${t.keyType}) AND r.last_version < u.v`,
      [JSON.stringify(merged)],
    );
  }
}
