import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Executor } from './executor.ts';
import { StranglerError } from '../errors/StranglerError.ts';
import { PACKAGE_ROOT } from '../paths/packageRoot.ts';

export const MIGRATIONS_DIR = path.join(PACKAGE_ROOT, 'migrations');

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrateResult {
  applied: string[];
  alreadyApplied: number;
}

/** Numbered SQL files `NNN_name.sql`, in order. */
export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  const files = readdirSync(dir)
    .filter((f) => /^\d+_[\w-]+\.sql$/.test(f))
    .sort();
  const seen = new Set<number>();
  return files.map((file) => {
    const version = Number.parseInt(file, 10);
    if (seen.has(version))
      throw new StranglerError('migration_duplicate', `Two migrations share number ${version} in ${dir}. Renumber one of them.`);
    seen.add(version);
    const sql = readFileSync(path.join(dir, file), 'utf8');
    return { version, name: file.replace(/\.sql$/, ''), sql, checksum: createHash('sha256').update(sql).digest('hex') };
  });
}

// Any constant works; it only has to be the same in every replica.
const MIGRATION_LOCK_KEY = 7_365_223_001;

/**
 * Applies pending migrations in one transaction under a transaction-scoped advisory lock,
 * so replicas starting together apply each file once and a failure leaves nothing half done.
 * (Transaction-scoped, not session-level: session locks break behind transaction pooling.)
 */
export async function migrate(db: Executor, migrations = loadMigrations()): Promise<MigrateResult> {
  if (db.dialect === 'mysql')
    throw new StranglerError('migration_dialect', 'Event store migrations run on PostgreSQL or embedded PGlite, not MySQL.');
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await tx.exec(`CREATE TABLE IF NOT EXISTS strangler_migrations (
      version int PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await tx.query<{ version: number; name: string; checksum: string }>(
      'SELECT version, name, checksum FROM strangler_migrations ORDER BY version',
    );
    const done = new Map(rows.map((r) => [r.version, r]));
    const applied: string[] = [];
    for (const m of migrations) {
      const prior = done.get(m.version);
      if (prior) {
        if (prior.checksum !== m.checksum) {
          throw new StranglerError(
            'migration_changed',
            `Migration ${m.name} was changed after it was applied (checksum differs). Applied migrations are immutable: add a new numbered file instead.`,
          );
        }
        continue;
      }
      await tx.exec(m.sql);
      await tx.query('INSERT INTO strangler_migrations (version, name, checksum) VALUES ($1, $2, $3)', [m.version, m.name, m.checksum]);
      applied.push(m.name);
    }
    return { applied, alreadyApplied: done.size };
  });
}
