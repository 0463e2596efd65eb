import type { ConstField, QueryField, QuerySpec } from '../config/querySchema.ts';
import type { Executor } from '../db/executor.ts';
import { StranglerError } from '../errors/StranglerError.ts';
import { ident, tableIdent } from '../projections/modules/sql.ts';

/**
 * The SQL of a declarative read, made once from the table's columns (information_schema):
 * every column the query names must exist, and a timestamp field is formatted by its column
 * type. Values are formatted in SQL where exactness matters: numbers and decimals as text
 * (never through a JS float before the last step), timestamps with to_char in UTC.
 */

export interface QueryPlan {
  /** `SELECT <fields> FROM <table>`: each column field aliased f0, f1, … */
  select: string;
  from: string;
  /** A row of the select → the JSON object legacy sends, its fields in `fields` order. */
  toObject(row: Record<string, unknown>): Record<string, unknown>;
}

/** Column name → data_type of a read-model table; empty when the table does not exist. */
export async function tableColumns(db: Executor, table: string): Promise<Map<string, string>> {
  const dot = table.indexOf('.');
  const schema = dot < 0 ? null : table.slice(0, dot);
  const name = dot < 0 ? table : table.slice(dot + 1);
  const { rows } = await db.query<{ name: string; type: string }>(
    `SELECT column_name AS name, data_type AS type FROM information_schema.columns
      WHERE table_schema = COALESCE($1, current_schema()) AND table_name = $2`,
    [schema, name],
  );
  return new Map(rows.map((r) => [r.name, r.type]));
}

const TIMESTAMP_TYPES = ['timestamp without time zone', 'timestamp with time zone', 'date'];

function fieldExpr(f: QueryField, type: string): string {
  const col = ident(f.column);
  switch (f.type) {
    case 'decimal':
      return f.scale === undefined ? `(${col})::numeric::text` : `round((${col})::numeric, ${f.scale})::text`;
    case 'timestamp': {
      const digits = f.digits ?? 3;
      const format = `YYYY-MM-DD"T"HH24:MI:SS${digits > 0 ? `.FF${digits}` : ''}"Z"`;
      // timestamp without time zone holds UTC wall-clock time; timestamptz is an instant.
      const utc = type === 'timestamp with time zone' ? `${col} AT TIME ZONE 'UTC'` : `(${col})::timestamp`;
      return `to_char(${utc}, '${format}')`;
    }
    default:
      return `(${col})::text`;
  }
}

function converter(f: QueryField): (text: string) => unknown {
  switch (f.type) {
    case 'integer':
    case 'number':
      return Number;
    case 'boolean':
      return (t) => t === 'true' || t === 't' || t === '1';
    case 'json':
      return (t) => JSON.parse(t) as unknown;
    case 'decimal':
      return f.as === 'number' ? Number : (t) => t;
    default:
      return (t) => t;
  }
}

/**
 * Reads the table's columns and makes the plan; throws naming the read and the field when
 * the table or a column is missing, or a timestamp field's column is not a timestamp.
 */
export async function makeQueryPlan(db: Executor, q: QuerySpec, where: string): Promise<QueryPlan> {
  const columns = await tableColumns(db, q.table);
  if (columns.size === 0)
    throw new StranglerError(
      'read_model_missing',
      `${where}.table: the read-model table "${q.table}" does not exist in the event store's database (its projection creates it at start-up; check the name, e.g. table: orders)`,
    );
  const missing = (path: string, column: string) =>
    new StranglerError(
      'read_model_missing',
      `${where}.${path}: the read-model table "${q.table}" has no column "${column}" (it has ${[...columns.keys()].sort().join(', ')})`,
    );
  const all = Object.entries(q.fields ?? {}) as [string, QueryField | ConstField][];
  const fields = all.filter((e): e is [string, QueryField] => !('value' in e[1]));
  for (const [name, f] of fields) {
    const type = columns.get(f.column);
    if (type === undefined) throw missing(`fields.${name}`, f.column);
    if (f.type === 'timestamp' && !TIMESTAMP_TYPES.includes(type))
      throw new StranglerError(
        'invalid_read',
        `${where}.fields.${name}: type timestamp needs a timestamp or date column; "${f.column}" is ${type} (use type: string to send its text)`,
      );
  }
  if (q.key && !columns.has(q.key.column)) throw missing('key', q.key.column);
  for (const [param, f] of Object.entries(q.filters)) if (!columns.has(f.column)) throw missing(`filters.${param}`, f.column);
  for (const [i, o] of q.order.entries()) if (!columns.has(o.column)) throw missing(`order[${i}]`, o.column);
  for (const column of Object.keys(q.where ?? {})) if (!columns.has(column)) throw missing(`where.${column}`, column);
  // Per answer field: a constant, or the alias of its column and how its text becomes JSON.
  const parts = all.map(([name, f]) => {
    if ('value' in f) return { name, value: f.value };
    const i = fields.findIndex(([n]) => n === name);
    return { name, alias: `f${i}`, convert: converter(f) };
  });
  return {
    select: fields.map(([, f], i) => `${fieldExpr(f, columns.get(f.column)!)} AS f${i}`).join(', ') || 'NULL AS f0',
    from: tableIdent(q.table),
    toObject(row) {
      const out: Record<string, unknown> = {};
      for (const p of parts) {
        if (p.alias === undefined) out[p.name] = p.value;
        else {
          const v = row[p.alias];
          out[p.name] = v === null || v === undefined ? null : p.convert(String(v));
        }
      }
      return out;
    },
  };
}
