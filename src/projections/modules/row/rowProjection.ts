import type { EntityConfig } from '../../../config/schema.ts';
import type { ProjectionModule, TableNames } from '../../types.ts';
import { readAppliedVersions, tombstoneDdl, writeTombstones } from '../appliedVersions.ts';
import { tableName } from '../sql.ts';
import { streamCategory, streamKeyParser } from '../streamKey.ts';
import { checkRowColumns, defaultRowColumns, type RowColumn } from './columns.ts';
import { foldRows } from './fold.ts';
import { rowEventKinds, type RowEventKind } from './kinds.ts';
import { rowDdl, writeRowChanges, type RowTable } from './statements.ts';

export interface RowProjectionOptions {
  /** The entity's name: the projection's name unless `name` is given. */
  entity: string;
  config: EntityConfig;
  name?: string;
  /** Typed columns; default from reconcile.columns (see defaultRowColumns). */
  columns?: readonly RowColumn[];
  /** Event type → kind, over the rule in rowEventKinds and the entity's `rowEvents`. */
  kinds?: Readonly<Record<string, RowEventKind>>;
  /** SQL type of the key column; default text. */
  keyType?: string;
}

/**
 * The generic row projection for a plain CRUD entity (`projection: row`): one row per
 * stream in `readModel.table`, keyed by the stream's `{id}`.
 *
 *   created → insert the event data as the row (replacing one that exists)
 *   updated → merge the event data into the row's document, field by field
 *   deleted → delete the row; a tombstone keeps the version so a replay cannot revive it
 *
 * The row keeps the merged JSON `document` and `last_version` (the stream version last
 * applied: an event at or below it changes nothing), plus typed columns filled from the
 * document by a column map. Which event means what comes from the commands (rowEventKinds).
 * Tables: logical `<readModel.table>` and `<readModel.table>_tombstones`.
 */
export function createRowProjection(opts: RowProjectionOptions): ProjectionModule {
  const { config } = opts;
  const kinds = rowEventKinds(config.commands, { ...config.rowEvents, ...opts.kinds }, { softDelete: config.softDelete !== undefined });
  const columns = opts.columns ?? defaultRowColumns(config);
  const key = config.readModel.key;
  checkRowColumns(columns, key);
  if (opts.keyType !== undefined) checkRowColumns([{ column: `${key}_key_type_check`, fields: [key], type: opts.keyType }], key);
  const keyOf = streamKeyParser(config.stream);
  const rowsLogical = config.readModel.table;
  const tombLogical = `${rowsLogical}_tombstones`;
  const tableOf = (t: TableNames): RowTable => ({ table: tableName(t, rowsLogical), key, keyType: opts.keyType ?? 'text', columns });

  return {
    name: opts.name ?? opts.entity,
    version: 1,
    tables: [rowsLogical, tombLogical],
    handles: [...kinds.keys()],
    streams: [streamCategory(config.stream)],
    ddl: (t) => `${rowDdl(tableOf(t))}\n${tombstoneDdl(tableName(t, tombLogical))}`,
    async apply(tx, events, t) {
      const mine = events.filter((e) => kinds.has(e.type));
      if (mine.length === 0) return;
      const table = tableOf(t);
      const tombstones = tableName(t, tombLogical);
      const keys = [...new Set(mine.map((e) => keyOf(e.streamId)))];
      const applied = await readAppliedVersions(tx, { rows: table.table, key, keyType: table.keyType, tombstones }, keys);
      const changes = foldRows(mine, kinds, applied, keyOf);
      if (changes.length === 0) return;
      await writeRowChanges(tx, table, changes);
      await writeTombstones(
        tx,
        tombstones,
        changes.filter((c) => c.deleted).map((c) => ({ key: c.key, version: c.lastVersion })),
      );
    },
  };
}
