import type { EntityConfig } from '../../../config/schema.ts';
import type { ProjectionModule, TableNames } from '../../types.ts';
import { tableName } from '../sql.ts';
import { streamCategory, streamKeyParser } from '../streamKey.ts';
import { camelCase, checkRowColumns, defaultRowColumns, type RowColumn } from './columns.ts';
import { rowTableDdl, sideTableDdl } from './ddl.ts';
import { foldRows } from './fold.ts';
import { rowEventKinds, type RowEventKind } from './kinds.ts';
import { tableFromLegacy, type CreateColumn, type LegacyColumn } from './legacyTable.ts';
import { explainMisfits, readRowState, writeRowChanges } from './statements.ts';
import { tableShapes } from './tableShape.ts';
import { createRowFold } from './verifyFold.ts';

export interface RowProjectionOptions {
  /** The entity's name: the projection's name unless `name` is given. */
  entity: string;
  config: EntityConfig;
  name?: string;
  /**
   * Which event fields fill a column, over the default (the column's name or its camelCase
   * form). A `type` is used when the projection creates the table without a legacy description.
   */
  columns?: readonly RowColumn[];
  /** Event type → kind, over the rule in rowEventKinds and the entity's `rowEvents`. */
  kinds?: Readonly<Record<string, RowEventKind>>;
  /** SQL type of the key column when the table is created from `columns`; default text. */
  keyType?: string;
  /**
   * The legacy table's columns (describeLegacyTable), or why they could not be read: the
   * table is created from them when it does not exist. loadProjections passes them when
   * legacy.database is configured.
   */
  legacy?: readonly LegacyColumn[] | { error: string };
}

/**
 * The generic row projection for a plain CRUD entity (`projection: row`): one row per
 * stream in the user's table `readModel.table`, keyed by the stream's `{id}` cast to the key
 * column's type.
 *
 *   created → insert the event data as the row (replacing one that exists)
 *   updated → set the columns whose fields the event data carries
 *   deleted → delete the row; a tombstone keeps the version so a replay cannot revive it
 *
 * Every column of the table (generated and identity ones excepted) is filled from the
 * same-named field of the event data or its camelCase form, cast by PostgreSQL to the
 * column's type. The bookkeeping lives in a side table `<table>__strangler_rows` (key text,
 * version, deleted, merged document): an event at or below the key's version changes
 * nothing. An existing table is used as it is; a missing one is created from the legacy
 * table's columns (legacyTable.ts).
 */
export function createRowProjection(opts: RowProjectionOptions): ProjectionModule {
  const { config } = opts;
  const kinds = rowEventKinds(config.commands, { ...config.rowEvents, ...opts.kinds }, { softDelete: config.softDelete !== undefined });
  const key = config.readModel.key;
  const given = opts.columns ?? [];
  checkRowColumns(given, key);
  if (opts.keyType !== undefined) checkRowColumns([{ column: `${key}_key_type_check`, fields: [key], type: opts.keyType }], key);
  const keyOf = streamKeyParser(config.stream);
  const rowsLogical = config.readModel.table;
  const sideLogical = `${rowsLogical}__strangler_rows`;
  const renamedFrom = new Map<string, string[]>();
  if (config.reconcile.columns !== 'all')
    for (const [l, r] of Object.entries(config.reconcile.columns)) if (l !== r) renamedFrom.set(r, [...(renamedFrom.get(r) ?? []), l]);
  const fieldsOf = (column: string) =>
    given.find((c) => c.column === column)?.fields ?? [
      ...new Set([column, camelCase(column), ...(renamedFrom.get(column) ?? []).flatMap((l) => [l, camelCase(l)])]),
    ];
  const shapeOf = tableShapes({ entity: opts.entity, key, fieldsOf, mapped: given.map((c) => c.column) });
  const create = creation(opts);

  return {
    name: opts.name ?? opts.entity,
    version: 2,
    tables: [rowsLogical, sideLogical],
    handles: [...kinds.keys()],
    streams: [streamCategory(config.stream)],
    ddl: (t) =>
      // The user's table first: it creates the schema both live in.
      `${rowTableDdl({ table: tableName(t, rowsLogical), served: rowsLogical, key, create })}\n${sideTableDdl(tableName(t, sideLogical))}`,
    async apply(tx, events, t: TableNames) {
      const mine = events.filter((e) => kinds.has(e.type));
      if (mine.length === 0) return;
      const target = { shape: await shapeOf(tx, tableName(t, rowsLogical)), side: tableName(t, sideLogical) };
      const docs = mine.map((e) => ({ k: keyOf(e.streamId), doc: e.data }));
      await explainMisfits(tx, target.shape, docs, async (sp) => {
        const applied = await readRowState(sp, target, [...new Set(docs.map((d) => d.k))]);
        const changes = foldRows(mine, kinds, applied, keyOf);
        if (changes.length) await writeRowChanges(sp, target, changes);
      });
    },
    // doctor verify: the columns given in code, else those reconcile.columns names.
    fold: createRowFold({ kinds, table: rowsLogical, key, columns: opts.columns ?? defaultRowColumns(config) }),
  };
}

/** The columns a missing table is created with: the legacy table's, else those given in code, else why neither. */
function creation(opts: RowProjectionOptions): CreateColumn[] | string {
  const { config } = opts;
  const key = config.readModel.key;
  if (opts.legacy && !('error' in opts.legacy)) {
    const made = tableFromLegacy(opts.entity, config, opts.legacy);
    if (typeof made === 'string') return made;
    // A type given in code wins over the legacy one; a column given in code only is added.
    const extra = (opts.columns ?? []).filter((g) => !made.some((c) => c.column === g.column));
    return [
      ...made.map((c) => ({ ...c, type: opts.columns?.find((g) => g.column === c.column)?.type ?? c.type })),
      ...extra.map((c) => ({ column: c.column, type: c.type ?? 'text' })),
    ];
  }
  if (opts.columns)
    return [{ column: key, type: opts.keyType ?? 'text' }, ...opts.columns.map((c) => ({ column: c.column, type: c.type ?? 'text' }))];
  return opts.legacy
    ? `the legacy table's columns could not be read (${opts.legacy.error})`
    : 'legacy.database.url is not set, so the legacy table is unknown';
}
