import type { Executor } from '../../db/executor.ts';
import type { TableNames } from '../types.ts';

export const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;
/** A table name, optionally schema-qualified (`rm.orders`): each part quoted. */
export const quoteTable = (name: string) => name.split('.').map(quoteIdent).join('.');
/** `rm.orders` → [`"rm".`, `orders`]: the schema prefix (quoted, or empty) and the bare name. */
function splitTable(name: string): [string, string] {
  const dot = name.indexOf('.');
  return dot < 0 ? ['', name] : [`${quoteIdent(name.slice(0, dot))}.`, name.slice(dot + 1)];
}

/** Fresh physical names for a rebuild, unique per run and within PostgreSQL's 63 bytes. */
export function rebuildTableNames(logical: readonly string[], runId: string): TableNames {
  return Object.fromEntries(logical.map((t) => [t, `${t.slice(0, 40)}__rb_${runId}`]));
}

/**
 * Inside the caller's transaction: drops the retired tables, renames each built table to
 * its served name and its indexes with it (so the module's `CREATE INDEX IF NOT EXISTS`
 * finds them next start and the next rebuild's names are free).
 *
 * Readers never see a half state: DROP and ALTER TABLE take ACCESS EXCLUSIVE locks held to
 * commit, so a concurrent SELECT waits, then re-resolves the name (PostgreSQL re-looks-up a
 * relation whose lock wait saw invalidations) and reads the new, complete table.
 */
export async function swapTables(tx: Executor, o: { built: TableNames; served: TableNames; retired: readonly string[] }): Promise<void> {
  if (o.retired.length) await tx.exec(`DROP TABLE IF EXISTS ${o.retired.map(quoteTable).join(', ')}`);
  for (const [logical, builtName] of Object.entries(o.built)) {
    // A schema-qualified table stays in its schema: RENAME TO takes the bare name.
    const [schema, built] = splitTable(builtName);
    const served = splitTable(o.served[logical] ?? logical)[1];
    await tx.exec(`ALTER TABLE ${quoteTable(builtName)} RENAME TO ${quoteIdent(served)}`);
    const { rows } = await tx.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = $1::regclass`,
      [`${schema}${quoteIdent(served)}`],
    );
    for (const { name } of rows) {
      if (!name.startsWith(built)) continue;
      await tx.exec(`ALTER INDEX ${schema}${quoteIdent(name)} RENAME TO ${quoteIdent((served + name.slice(built.length)).slice(0, 63))}`);
    }
  }
}
