/**
 * Identifier quoting for read-model SQL. Table and column names come from the spec (checked
 * as SQL identifiers there) and from the runner's physical names; quoting keeps a name that
 * is also a keyword (`order`, `user`) working.
 */
export function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * A table name, optionally schema-qualified (`rm.orders`): each part quoted on its own.
 * Physical names come from the runner (e.g. a rebuild's fresh tables).
 */
export function tableIdent(name: string): string {
  return name.split('.').map(ident).join('.');
}

/** The physical name the runner gave a logical table; a missing one is a programming error. */
export function tableName(t: Readonly<Record<string, string>>, logical: string): string {
  const physical = t[logical];
  if (!physical)
    throw new Error(
      `No physical table for "${logical}"; the runner must map every name in module.tables (got ${Object.keys(t).join(', ') || 'none'}).`,
    );
  return physical;
}

const NEEDS_ESCAPE = /["\\]/;

/**
 * A PostgreSQL array literal (`{"a","b",NULL,3}`) for a `$1::text[]` (numeric[], int[],
 * timestamptz[] …) parameter: every string element quoted, `"` and `\` escaped, null as
 * NULL, numbers as they print (integers only). The driver builds the same text, but runs
 * two regular-expression replaces per element: a batch's arrays of thousands of values
 * spent more time there than in the rest of the statement's JavaScript.
 */
export function arrayLiteral(values: readonly (string | number | null | undefined)[]): string {
  // One join, no string per element where it can be helped: `out += …` per element made a
  // chain of cons strings the driver flattened again (a fifth of a catch-up's allocation).
  if (values.every((v) => typeof v === 'string' && !NEEDS_ESCAPE.test(v))) return values.length ? `{"${values.join('","')}"}` : '{}';
  if (values.every((v) => typeof v === 'number')) return `{${values.join(',')}}`;
  const parts = new Array<string>(values.length);
  for (let k = 0; k < values.length; k++) {
    const v = values[k];
    if (v === null || v === undefined) parts[k] = 'NULL';
    else if (typeof v === 'number') parts[k] = String(v);
    else parts[k] = '"' + (NEEDS_ESCAPE.test(v) ? v.replace(/["\\]/g, '\\$&') : v) + '"';
  }
  return '{' + parts.join(',') + '}';
}
