import { readFile } from 'node:fs/promises';
import type { Db } from './db.ts';

/** Creates `users`, `articles` and `favorites` if they are missing (idempotent): schema/mysql.sql. */
export async function migrate(db: Db): Promise<void> {
  const sql = await readFile(new URL('./schema/mysql.sql', import.meta.url), 'utf8');
  await db.raw(sql);
}
