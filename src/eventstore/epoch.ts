import type { Executor } from '../db/executor.ts';

/**
 * Identifies the PostgreSQL cluster holding the store. Transaction ids (part of every
 * global checkpoint) are only comparable within one cluster: after a dump/restore into a
 * new cluster the epoch changes and readers must re-base their checkpoints by position.
 */
export async function storeEpoch(db: Executor): Promise<string> {
  const { rows } = await db.query<{ id: string }>('SELECT (pg_control_system()).system_identifier::text AS id');
  return rows[0]!.id;
}
