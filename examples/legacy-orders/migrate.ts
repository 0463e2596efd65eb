import { readFile } from 'node:fs/promises';
import type { Executor } from 'strangler-sidecar';

/**
 * Creates the `orders` and `order_items` tables if they are missing (idempotent), using
 * schema/mysql.sql on MySQL/MariaDB and schema/postgres.sql on PostgreSQL and PGlite.
 */
export async function migrate(db: Executor): Promise<void> {
  const file = db.dialect === 'mysql' ? 'mysql.sql' : 'postgres.sql';
  const sql = await readFile(new URL(`./schema/${file}`, import.meta.url), 'utf8');
  await db.exec(sql);
}
