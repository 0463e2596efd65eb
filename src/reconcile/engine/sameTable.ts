import type { Executor } from '../../db/executor.ts';
import { StranglerError } from '../../errors/StranglerError.ts';

interface TableIdentity {
  oid: string;
  db: string;
  /** The server's system identifier; null where pg_control_system() is not granted to the role. */
  system: string | null;
  /** The server's start time (microseconds on PostgreSQL): tells servers apart when the identifier is not readable. */
  started: string;
}

/** Which table a name resolves to on a PostgreSQL connection; null when there is no such table. */
async function tableIdentity(db: Executor, table: string): Promise<TableIdentity | null> {
  const { rows } = await db.query<{ oid: string | null; db: string; started: string }>(
    `SELECT to_regclass($1)::oid::text AS oid, current_database() AS db, pg_postmaster_start_time()::text AS started`,
    [table],
  );
  const r = rows[0];
  if (!r?.oid) return null;
  const system = await db
    .query<{ id: string }>('SELECT system_identifier::text AS id FROM pg_control_system()')
    .then((x) => x.rows[0]?.id ?? null)
    .catch(() => null);
  return { oid: r.oid, db: r.db, system, started: r.started };
}

function same(a: TableIdentity, b: TableIdentity): boolean {
  if (a.oid !== b.oid || a.db !== b.db) return false;
  return a.system !== null && b.system !== null ? a.system === b.system : a.started === b.started;
}

/**
 * Refuses a comparison of a table with itself: the read model resolving to the legacy table
 * (same server, database, schema and name; e.g. an event store placed in the legacy
 * database, whose projection tables carry the legacy names). Such a run would report 0 %
 * mismatch whatever the data holds.
 */
export async function refuseSameTable(o: {
  entity: string;
  legacy: Executor;
  store: Executor;
  legacyTable: string;
  readModelTable: string;
}): Promise<void> {
  // MySQL legacy and a PostgreSQL store are never the same table; PGlite is in-process.
  if (o.legacy.dialect === 'mysql' || o.legacy.dialect !== o.store.dialect) return;
  const [a, b] = await Promise.all([tableIdentity(o.legacy, o.legacyTable), tableIdentity(o.store, o.readModelTable)]);
  if (a === null || b === null || !same(a, b)) return;
  throw new StranglerError(
    'reconcile_same_table',
    `Cannot reconcile entity ${o.entity}: the legacy table ${o.legacyTable} and the read model ${o.readModelTable} are the same table ` +
      `(same server, database and schema: the event store is in the legacy database), and a table compared with itself always matches. ` +
      `Give the event store a database of its own (eventStore.url) or the read model another table (entities.${o.entity}.readModel.table).`,
    { status: 400 },
  );
}
