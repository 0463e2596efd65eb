import type { Executor } from '../../db/executor.ts';
import { arrayLiteral, ident, tableIdent } from './sql.ts';

/** What the read model already holds for a key: the stream version last applied to it. */
export interface AppliedState {
  lastVersion: number;
  /** The key's row is gone: its stream ended with a delete (a tombstone remembers it). */
  deleted: boolean;
}

/**
 * The idempotency guard's input: per key, the highest stream version already applied,
 * from the live rows and the tombstones of deleted ones. An event whose stream version is
 * not above it was applied before (a replayed batch, an overlapping runner's retry) and
 * changes nothing. Tombstones matter: without them a replayed create would bring a deleted
 * row back.
 *
 * Read in the applying transaction, so it is the state the batch's writes build on.
 */
export async function readAppliedVersions(
  tx: Executor,
  tables: { rows: string; key: string; keyType?: string; tombstones: string },
  keys: readonly string[],
): Promise<Map<string, AppliedState>> {
  const state = new Map<string, AppliedState>();
  if (keys.length === 0) return state;
  const keyType = tables.keyType ?? 'text';
  const sql = `SELECT ${ident(tables.key)}::text AS k, last_version AS v, false AS d FROM ${tableIdent(tables.rows)} WHERE ${ident(tables.key)} = ANY($2::${keyType}[])
     UNION ALL SELECT key AS k, last_version AS v, true AS d FROM ${tableIdent(tables.tombstones)} WHERE key = ANY($1::text[])`;
  const list = arrayLiteral(keys);
  const { rows } = await tx.query<{ k: string; v: string; d: boolean }>(sql, [list, list]);
  for (const r of rows) {
    const v = Number(r.v);
    const prev = state.get(r.k);
    if (!prev || v > prev.lastVersion) state.set(r.k, { lastVersion: v, deleted: r.d });
  }
  return state;
}

/** DDL of a tombstone table: deleted keys and the version of their delete. */
export function tombstoneDdl(table: string): string {
  return `CREATE TABLE IF NOT EXISTS ${tableIdent(table)} (
  key          text   PRIMARY KEY,
  last_version bigint NOT NULL
);`;
}

/** Records deleted keys (a later, higher version wins; a replay changes nothing). */
export async function writeTombstones(tx: Executor, table: string, deleted: readonly { key: string; version: number }[]): Promise<void> {
  if (deleted.length === 0) return;
  const sql = `INSERT INTO ${tableIdent(table)} (key, last_version)
     SELECT k, v FROM unnest($1::text[], $2::bigint[]) AS d(k, v)
     ON CONFLICT (key) DO UPDATE SET last_version = EXCLUDED.last_version WHERE ${tableIdent(table)}.last_version < EXCLUDED.last_version`;
  await tx.query(sql, [arrayLiteral(deleted.map((d) => d.key)), arrayLiteral(deleted.map((d) => d.version))]);
}
