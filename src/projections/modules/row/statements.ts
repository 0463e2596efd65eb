import type { Executor } from '../../../db/executor.ts';
import { StranglerError } from '../../../errors/StranglerError.ts';
import type { AppliedState } from '../appliedVersions.ts';
import { ident, tableIdent } from '../sql.ts';
import type { RowChange } from './fold.ts';
import type { ShapeColumn, TableShape } from './tableShape.ts';

const literal = (s: string) => `'${s.replaceAll("'", "''")}'`;
const JSON_TYPES = new Set(['json', 'jsonb']);

/**
 * The type values are cast to before they are stored: a length-limited text type without its
 * length, since an explicit cast to varchar(n) or char(n) cuts a longer value silently, where
 * storing it (an assignment) refuses it. The unsized types still use the column's index.
 */
export function castType(type: string): string {
  return type.replace(/^character varying\(\d+\)/, 'varchar').replace(/^character\(\d+\)/, 'bpchar');
}

/**
 * SQL of a column's value from a jsonb document: the first of its fields present, cast by
 * PostgreSQL to the column's type. A JSON column takes the field's JSON value (a string
 * holding JSON, as a repair's after-image carries it, is parsed); JSON null is NULL.
 */
export function valueExpr(c: ShapeColumn, doc: string): string {
  if (JSON_TYPES.has(c.type)) {
    const one = (f: string) => {
      const v = `NULLIF(${doc}->${literal(f)}, 'null'::jsonb)`;
      return `CASE WHEN jsonb_typeof(${v}) = 'string' THEN CAST(${v} #>> '{}' AS jsonb) ELSE ${v} END`;
    };
    const value = c.fields.length === 1 ? one(c.fields[0]!) : `COALESCE(${c.fields.map(one).join(', ')})`;
    return `CAST(${value} AS ${castType(c.type)})`;
  }
  const value =
    c.fields.length === 1 ? `${doc}->>${literal(c.fields[0]!)}` : `COALESCE(${c.fields.map((f) => `${doc}->>${literal(f)}`).join(', ')})`;
  return `CAST(${value} AS ${castType(c.type)})`;
}

/**
 * Per key: the version last applied and whether the row is deleted (from the side table), or
 * version 0 for a row of the user's table the side table does not know yet (loaded before
 * dual-write). Read in the applying transaction, so it is the state the writes build on.
 */
export async function readRowState(
  tx: Executor,
  t: { shape: TableShape; side: string },
  keys: readonly string[],
): Promise<Map<string, AppliedState>> {
  const { shape } = t;
  const { rows } = await tx.query<{ k: string; v: string | null; d: boolean | null; present: boolean }>(
    `SELECT u.k, s.version AS v, s.deleted AS d,
            s.key IS NULL AND EXISTS (SELECT 1 FROM ${tableIdent(shape.table)} r WHERE r.${ident(shape.key)} = CAST(u.k AS ${castType(shape.keyType)})) AS present
       FROM unnest($1::text[]) AS u(k) LEFT JOIN ${tableIdent(t.side)} s ON s.key = u.k`,
    [keys],
  );
  const state = new Map<string, AppliedState>();
  for (const r of rows) {
    if (r.v !== null) state.set(r.k, { lastVersion: Number(r.v), deleted: r.d === true });
    else if (r.present) state.set(r.k, { lastVersion: 0, deleted: false });
  }
  return state;
}

/**
 * Deletes, then creates (whole rows, upserted), then merges: one statement each per batch.
 * Each writes the side table first, guarded by version (an overlapping retry changes
 * nothing), and the user's table only for the keys that moved there.
 */
export async function writeRowChanges(tx: Executor, t: { shape: TableShape; side: string }, changes: readonly RowChange[]): Promise<void> {
  const { shape } = t;
  const table = tableIdent(shape.table);
  const side = tableIdent(t.side);
  const key = ident(shape.key);
  const keyOf = (k: string) => `CAST(${k} AS ${castType(shape.keyType)})`;
  const guard = 's.version < EXCLUDED.version';

  const deleted = changes.filter((c) => c.deleted).map((c) => ({ k: c.key, v: c.lastVersion }));
  if (deleted.length)
    await tx.query(
      `WITH c AS (SELECT * FROM json_to_recordset($1::json) AS c(k text, v bigint)),
       s AS (INSERT INTO ${side} AS s (key, version, deleted, document) SELECT k, v, true, NULL FROM c
             ON CONFLICT (key) DO UPDATE SET version = EXCLUDED.version, deleted = true, document = NULL WHERE ${guard}
             RETURNING key)
       DELETE FROM ${table} r USING s WHERE r.${key} = ${keyOf('s.key')}`,
      [JSON.stringify(deleted)],
    );

  const created = changes.flatMap((c) => (c.document && !c.deleted ? [{ k: c.key, doc: c.document, v: c.lastVersion }] : []));
  if (created.length) {
    const names = shape.columns.map((c) => ident(c.column));
    const conflict = names.length ? `DO UPDATE SET ${names.map((n) => `${n} = EXCLUDED.${n}`).join(', ')}` : 'DO NOTHING';
    await tx.query(
      `WITH c AS (SELECT * FROM json_to_recordset($1::json) AS c(k text, doc jsonb, v bigint)),
       s AS (INSERT INTO ${side} AS s (key, version, deleted, document) SELECT k, v, false, doc FROM c
             ON CONFLICT (key) DO UPDATE SET version = EXCLUDED.version, deleted = false, document = EXCLUDED.document WHERE ${guard}
             RETURNING key)
       INSERT INTO ${table} AS r (${[key, ...names].join(', ')}) OVERRIDING SYSTEM VALUE
       SELECT ${[keyOf('c.k'), ...shape.columns.map((col) => valueExpr(col, 'c.doc'))].join(', ')} FROM c JOIN s ON s.key = c.k
       ON CONFLICT (${key}) ${conflict}`,
      [JSON.stringify(created)],
    );
  }

  const merged = changes.flatMap((c) => (c.existed && !c.document && !c.deleted ? [{ k: c.key, patch: c.patch, v: c.lastVersion }] : []));
  if (merged.length) {
    // Only the columns whose fields the patch carries change; a row loaded before dual-write
    // (no document yet) starts its document from the patch.
    const set = shape.columns.map(
      (col) =>
        `${ident(col.column)} = CASE WHEN u.patch ?| ARRAY[${col.fields.map(literal).join(', ')}] THEN ${valueExpr(col, 'u.patch')} ELSE r.${ident(col.column)} END`,
    );
    await tx.query(
      `WITH u AS (SELECT * FROM json_to_recordset($1::json) AS u(k text, patch jsonb, v bigint)),
       s AS (INSERT INTO ${side} AS s (key, version, deleted, document) SELECT k, v, false, patch FROM u
             ON CONFLICT (key) DO UPDATE SET version = EXCLUDED.version, document = COALESCE(s.document, '{}'::jsonb) || EXCLUDED.document WHERE ${guard}
             RETURNING key)
       UPDATE ${table} AS r SET ${set.length ? set.join(', ') : `${key} = r.${key}`}
         FROM u JOIN s ON s.key = u.k WHERE r.${key} = ${keyOf('u.k')}`,
      [JSON.stringify(merged)],
    );
  }
}

/** PostgreSQL errors of a value that does not fit its column (bad input, out of range, too long, NULL in NOT NULL). */
const DOES_NOT_FIT = /^(22|23502)/;

/**
 * Runs `work` in a savepoint; when PostgreSQL refuses a value, finds the column by casting
 * each column's values of the batch (`docs`: key and event data) alone, and throws an error
 * that names it.
 */
export async function explainMisfits(
  tx: Executor,
  shape: TableShape,
  docs: readonly { k: string; doc: unknown }[],
  work: (sp: Executor) => Promise<void>,
): Promise<void> {
  try {
    await tx.transaction(work);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code !== 'string' || !DOES_NOT_FIT.test(code)) throw err;
    let column = (err as { column?: string }).column;
    const candidates: ShapeColumn[] = column ? [] : [{ column: shape.key, type: shape.keyType, fields: [] }, ...shape.columns];
    for (const col of candidates) {
      // Stored into a scratch table of the column's type: the same check as the real write.
      const expr = col.fields.length ? valueExpr(col, 'c.doc') : `CAST(c.k AS ${castType(col.type)})`;
      const bad = await tx
        .transaction(async (sp) => {
          await sp.query(`CREATE TEMP TABLE strangler_row_check (v ${col.type}) ON COMMIT DROP`);
          await sp.query(`INSERT INTO strangler_row_check SELECT ${expr} FROM json_to_recordset($1::json) AS c(k text, doc jsonb)`, [
            JSON.stringify(docs),
          ]);
          throw new Error('fits'); // never keep the scratch table
        })
        .then(
          () => false,
          (e: unknown) => !(e instanceof Error && e.message === 'fits'),
        );
      if (bad) {
        column = col.column;
        break;
      }
    }
    const type = column === shape.key ? shape.keyType : shape.columns.find((c) => c.column === column)?.type;
    const what = column ? `column "${column}" (${type ?? 'unknown type'})` : 'one of its columns';
    throw new StranglerError(
      'row_value_does_not_fit',
      `Read-model table ${shape.table}: a value of the events does not fit ${what}: ${(err as Error).message}. ` +
        `The table is used as it is: change the column's type, or skip the event.`,
      { cause: err },
    );
  }
}
