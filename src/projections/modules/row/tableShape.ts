import type { Executor } from '../../../db/executor.ts';
import { StranglerError } from '../../../errors/StranglerError.ts';
import { tableIdent } from '../sql.ts';
import { oldShapeSql } from './ddl.ts';

/** A written column of the user's table: filled from the first of `fields` in the event data, cast to `type`. */
export interface ShapeColumn {
  column: string;
  /** As PostgreSQL prints it (format_type): `bigint`, `numeric(12,2)`, `character(36)`, `jsonb`. */
  type: string;
  fields: readonly string[];
}

/** The user's read-model table as the projection writes it. */
export interface TableShape {
  table: string;
  key: string;
  keyType: string;
  columns: readonly ShapeColumn[];
}

interface Attr {
  name: string;
  type: string;
  generated: boolean;
  identity: string;
}

/**
 * Reads the user's table once per table version (its oid and catalog row change with an
 * ALTER TABLE or a rebuild's swap), in the applying transaction. Refuses, saying what to do,
 * a missing table or key column, a key without a unique index (the upsert needs one), a
 * table of the old shape, and a column map naming columns the table lacks.
 */
export function tableShapes(o: {
  entity: string;
  key: string;
  fieldsOf: (column: string) => readonly string[];
  mapped: readonly string[];
}): (tx: Executor, table: string) => Promise<TableShape> {
  const cache = new Map<string, TableShape>();
  return async (tx, table) => {
    const { rows: rel } = await tx.query<{ oid: string | null; version: string | null }>(
      `SELECT c.oid::text AS oid, c.xmin::text AS version FROM pg_class c WHERE c.oid = to_regclass($1)`,
      [tableIdent(table)],
    );
    const oid = rel[0]?.oid;
    if (!oid)
      throw new StranglerError(
        'read_model_table_missing',
        `The read-model table ${table} of entity ${o.entity} does not exist; restart the projection (it creates the table) or create it.`,
      );
    const id = `${table}:${oid}:${rel[0]?.version ?? ''}`;
    const hit = cache.get(id);
    if (hit) return hit;
    const { rows: attrs } = await tx.query<Attr>(
      `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attgenerated <> '' AS generated, a.attidentity AS identity
         FROM pg_attribute a WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
      [oid],
    );
    const keyAttr = attrs.find((a) => a.name === o.key);
    if (!keyAttr)
      throw new StranglerError(
        'read_model_key_missing',
        `The read-model table ${table} has no key column "${o.key}" (entities.${o.entity}.readModel.key); it has ${attrs.map((a) => a.name).join(', ')}.`,
      );
    const { rows: checks } = await tx.query<{ unique: boolean; old: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                       WHERE i.indrelid = $1::oid AND i.indisunique AND i.indnkeyatts = 1 AND i.indpred IS NULL
                         AND i.indexprs IS NULL AND a.attname = $2) AS "unique",
              ${oldShapeSql(table)} AS old`,
      [oid, o.key],
    );
    if (checks[0]?.old)
      throw new StranglerError(
        'read_model_old_shape',
        `The read-model table ${table} has the row projection's old shape (document and last_version columns); rebuild it: strangler projections rebuild ${o.entity}.`,
      );
    if (!checks[0]?.unique)
      throw new StranglerError(
        'read_model_key_not_unique',
        `The read-model table ${table} has no primary key or unique index on its key column "${o.key}"; add one, e.g. ALTER TABLE ${table} ADD PRIMARY KEY (${o.key}).`,
      );
    const names = new Set(attrs.map((a) => a.name));
    const unknown = o.mapped.filter((c) => !names.has(c));
    if (unknown.length)
      throw new StranglerError(
        'invalid_row_columns',
        `Row projection columns ${unknown.join(', ')} are not in the read-model table ${table} (it has ${[...names].join(', ')}).`,
      );
    // Generated and identity columns are the database's to fill (the key excepted).
    const written = attrs.filter((a) => a.name !== o.key && !a.generated && a.identity === '');
    const shape: TableShape = {
      table,
      key: o.key,
      keyType: keyAttr.type,
      columns: written.map((a) => ({ column: a.name, type: a.type, fields: o.fieldsOf(a.name) })),
    };
    cache.set(id, shape);
    return shape;
  };
}
