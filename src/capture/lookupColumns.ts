import type { Logger } from 'pino';
import { ConfigError, type ConfigIssue } from '../config/ConfigError.ts';
import type { EntityConfig } from '../config/schema.ts';
import type { Executor } from '../db/executor.ts';

/** The column names of a legacy table (`schema.table` accepted on PostgreSQL); empty when it does not exist. */
async function columnsOf(db: Executor, table: string): Promise<string[]> {
  if (db.dialect === 'mysql') {
    const { rows } = await db.query<{ name: string }>(
      'SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
      [table],
    );
    return rows.map((r) => r.name);
  }
  const [schema, name] = table.includes('.') ? table.split('.', 2) : [null, table];
  const { rows } = await db.query<{ name: string }>(
    'SELECT column_name AS name FROM information_schema.columns WHERE table_schema = COALESCE($1, current_schema()) AND table_name = $2 ORDER BY ordinal_position',
    [schema, name],
  );
  return rows.map((r) => r.name);
}

/**
 * Checks the legacy columns the entities' `lookup`s read (the lookup column and `legacy.key`,
 * where the stream id comes from) against the legacy database: one issue per missing table
 * or column, named by its config field. A query that fails (database unreachable) throws;
 * the caller decides whether that stops it.
 */
export async function checkLookupColumns(db: Executor, entities: Readonly<Record<string, EntityConfig>>): Promise<ConfigIssue[]> {
  const issues: ConfigIssue[] = [];
  const fold = (c: string) => (db.dialect === 'mysql' ? c.toLowerCase() : c);
  for (const [name, entity] of Object.entries(entities)) {
    const lookups = entity.commands.flatMap((c, i) => (c.lookup ? [{ i, column: c.lookup.column }] : []));
    if (lookups.length === 0) continue;
    const { table, key } = entity.legacy;
    const columns = await columnsOf(db, table);
    if (columns.length === 0) {
      issues.push({
        path: `entities.${name}.legacy.table`,
        message: `the legacy table "${table}" does not exist in the legacy database (lookup reads it)`,
        example: `table: ${table}`,
      });
      continue;
    }
    const has = new Set(columns.map(fold));
    const listed = `its columns: ${columns.join(', ')}`;
    if (!has.has(fold(key))) {
      issues.push({
        path: `entities.${name}.legacy.key`,
        message: `column "${key}" is not in the legacy table ${table} (${listed}); lookup takes the stream id from it`,
        example: `key: ${columns[0]}`,
      });
    }
    for (const { i, column } of lookups) {
      if (has.has(fold(column))) continue;
      issues.push({
        path: `entities.${name}.commands[${i}].lookup.column`,
        message: `column "${column}" is not in the legacy table ${table} (${listed})`,
        example: 'column: slug',
      });
    }
  }
  return issues;
}

/** Start-up: a lookup column that does not exist stops the sidecar; an unreachable database is a warning. */
export async function refuseMissingLookupColumns(
  db: Executor,
  entities: Readonly<Record<string, EntityConfig>>,
  logger: Logger,
): Promise<void> {
  let issues: ConfigIssue[];
  try {
    issues = await checkLookupColumns(db, entities);
  } catch (err) {
    logger.warn({ err: (err as Error).message }, 'lookup columns not checked: the legacy database did not answer');
    return;
  }
  if (issues.length > 0) throw new ConfigError('the configuration (checked against the legacy database)', issues);
}
