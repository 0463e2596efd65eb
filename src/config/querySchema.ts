import { z } from 'zod';
import { expected, matching, oneOf, sqlIdentifier, text } from './fields.ts';
import { splitRoute } from './routes.ts';
import { whereCondition } from './whereSchema.ts';

/**
 * A declarative read (`reads[].query`): one read-model table answering a GET the way legacy
 * does. With `key` it is an item read (one row by a route parameter, else `notFound`);
 * without, a list (filters, order, limit/offset). src/reads/queryHandler.ts runs it.
 *
 *   query:
 *     table: orders
 *     key: id                                   # WHERE id = :id (the route's parameter)
 *     fields: { id: id, totalAmount: { column: total_amount, type: decimal, scale: 2 } }
 *     notFound: { status: 404, body: { error: not_found, message: "Order {id} not found" } }
 */

export const FIELD_TYPES = ['string', 'integer', 'number', 'boolean', 'json', 'decimal', 'timestamp'] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

const FIELD_NAME = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;
const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// `orders` or `rm.orders`.
const QUALIFIED_TABLE = /^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$/;
// `created_at`, `created_at desc`.
const ORDER_TERM = /^([A-Za-z_][A-Za-z0-9_]{0,62})(?:\s+(asc|desc|ASC|DESC))?$/;

function fieldName(what = 'a JSON field name (letters, digits, _ and -)') {
  return matching(FIELD_NAME, what);
}

function count(what: string, min: number, max: number) {
  const msg = expected(what);
  return z.preprocess((v) => (typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v), z.int(msg).min(min, msg).max(max, msg));
}

const fieldSchema = z.union(
  [
    sqlIdentifier().transform((column): QueryField => ({ column, type: 'string' })),
    z.strictObject(
      {
        column: sqlIdentifier(),
        type: oneOf(FIELD_TYPES).default('string'),
        /** decimal: digits after the point, as legacy prints them (`12.50` with 2). Default: the column's own. */
        scale: count('a number of decimals from 0 to 20', 0, 20).optional(),
        /** decimal: a JSON string (`"12.50"`, default) or a JSON number (`12.5`). */
        as: oneOf(['string', 'number']).optional(),
        /** timestamp: fractional digits of the ISO UTC text (`…07.000010Z` with 6). Default 3. */
        digits: count('a number of fractional digits from 0 to 6', 0, 6).optional(),
      },
      expected('a column name, or a mapping like { column: total_amount, type: decimal, scale: 2 }'),
    ),
    /** A value legacy always sends (`following: { value: false }`). */
    z.strictObject({ value: z.json(expected('a JSON value')) }, expected('a mapping like { value: false }')),
  ],
  expected('a column name, or a mapping like { column: total_amount, type: decimal, scale: 2 } or { value: false }'),
);
/** A constant field of the answer. */
export interface ConstField {
  value: z.core.util.JSONType;
}
export interface QueryField {
  column: string;
  type: FieldType;
  scale?: number | undefined;
  as?: 'string' | 'number' | undefined;
  digits?: number | undefined;
}

const filterSchema = z.union(
  [
    sqlIdentifier().transform((column): { column: string; pattern?: string | undefined } => ({ column })),
    z.strictObject(
      {
        column: sqlIdentifier(),
        /** A value not matching it is legacy's to answer (its validation error): the read passes to legacy. */
        pattern: text('a regular expression like "^[A-Za-z0-9-]{1,64}$"')
          .refine(isRegExp, expected('a valid regular expression'))
          .optional(),
      },
      expected('a column name, or a mapping like { column: customer_id, pattern: "^[a-z0-9-]+$" }'),
    ),
  ],
  expected('a column name, or a mapping like { column: customer_id, pattern: "^[a-z0-9-]+$" }'),
);

function isRegExp(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}

const pageParam = (name: string, what: string) =>
  z.strictObject(
    {
      param: matching(PARAM_NAME, 'a query parameter name like limit').default(name),
      /** Used when the parameter is absent; omitted = no limit (offset: 0). */
      default: count('an integer of 0 or more', 0, Number.MAX_SAFE_INTEGER).optional(),
      /** Smallest and largest accepted values; anything else (or not an integer) passes to legacy. */
      min: count('an integer of 0 or more', 0, Number.MAX_SAFE_INTEGER).optional(),
      max: count('an integer of 0 or more', 0, Number.MAX_SAFE_INTEGER).optional(),
    },
    expected(what),
  );

export const querySchema = z.strictObject(
  {
    /** The read-model table, in the event store's database; `schema.table` is accepted. */
    table: matching(QUALIFIED_TABLE, 'a table name, optionally schema-qualified (orders or rm.orders)'),
    /** Item read: the key column, matched against a route parameter (default: the route's only one). */
    key: z
      .union(
        [
          sqlIdentifier().transform((column): { column: string; param?: string | undefined } => ({ column })),
          z.strictObject(
            { column: sqlIdentifier(), param: matching(PARAM_NAME, 'a route parameter name like id').optional() },
            expected('a mapping like { column: id, param: id }'),
          ),
        ],
        expected('a column name, or a mapping like { column: id, param: id }'),
      )
      .optional(),
    /** JSON field → column (a string field) or { column, type, scale, as, digits }, in legacy's key order. */
    fields: z
      .record(fieldName(), fieldSchema, expected('a mapping of JSON field → column, like { id: id, customerId: customer_id }'))
      .optional(),
    /** Wraps the answer: `order` → `{"order": {...}}`, `articles` → `{"articles": [...]}`. */
    envelope: fieldName().optional(),
    /** List with an envelope: the field holding the number of matching rows (`articlesCount`). */
    count: fieldName().optional(),
    /** Request parameter (route parameter or query string) → column it must equal; absent = no filter. */
    filters: z.record(fieldName(), filterSchema, expected('a mapping of request parameter → column')).default({}),
    /** List order, legacy's: `[created_at, id]` or `["created_at desc", id]`. */
    order: z
      .array(
        z.union(
          [
            matching(ORDER_TERM, 'a column name, optionally followed by asc or desc, like "created_at desc"').transform((term) => {
              const m = ORDER_TERM.exec(term)!;
              return { column: m[1]!, desc: (m[2] ?? '').toLowerCase() === 'desc' };
            }),
            // What the effective config prints (`strangler config print`), read back.
            z.strictObject({ column: sqlIdentifier(), desc: z.boolean().default(false) }),
          ],
          expected('a column name, optionally followed by asc or desc, like "created_at desc"'),
        ),
        expected('a list of columns like [created_at, id]'),
      )
      .default([]),
    limit: pageParam('limit', 'a mapping like { param: limit, default: 20, max: 100 }').optional(),
    offset: pageParam('offset', 'a mapping like { param: offset }').optional(),
    /** Item read, no row: this answer; `{param}` in body strings is replaced by the parameter's value. */
    notFound: z
      .strictObject(
        {
          status: count('an HTTP status from 400 to 599', 400, 599).default(404),
          body: z.json(expected('a JSON value')).default({ error: 'not_found' }),
        },
        expected('a mapping like { status: 404, body: { error: not_found, message: "Order {id} not found" } }'),
      )
      .prefault({}),
    /** Rows the read never answers with, e.g. soft-deleted ones: { record_status: { not: deleted } } (forms of reconcile.where). */
    where: z
      .record(sqlIdentifier(), whereCondition, expected('a mapping of column → condition, like { record_status: { not: deleted } }'))
      .optional(),
    /** Default `application/json; charset=utf-8`. */
    contentType: text('a content type like "application/json; charset=utf-8"').optional(),
  },
  expected('a mapping with table and fields'),
);
export type QuerySpec = z.output<typeof querySchema>;

type Issue = { path: (string | number)[]; message: string };

/** What the route makes wrong in a query (checked with the read's route); [] when nothing. */
export function queryProblems(route: string, q: QuerySpec): Issue[] {
  const out: Issue[] = [];
  const params = splitRoute(route).params;
  const has = (p: string) =>
    `"${route}" has no :${p} parameter (${params.length ? `it has ${params.map((x) => `:${x}`).join(', ')}` : 'it has none'})`;
  if (!q.fields || Object.keys(q.fields).length === 0)
    out.push({ path: ['fields'], message: 'required: the JSON fields of the answer, e.g. fields: { id: id, customerId: customer_id }' });
  for (const [name, f] of Object.entries(q.fields ?? {})) {
    if ('value' in f) continue;
    if (f.type !== 'decimal' && (f.scale !== undefined || f.as !== undefined))
      out.push({ path: ['fields', name], message: `scale and as apply to type: decimal (this field is ${f.type})` });
    if (f.type !== 'timestamp' && f.digits !== undefined)
      out.push({ path: ['fields', name], message: `digits applies to type: timestamp (this field is ${f.type})` });
  }
  if (q.key) {
    const param = q.key.param;
    if (param !== undefined && !params.includes(param)) out.push({ path: ['key', 'param'], message: has(param) });
    if (param === undefined && params.length !== 1)
      out.push({
        path: ['key'],
        message: `"${route}" has ${params.length} parameters; name the one holding the key, e.g. key: { column: id, param: id }`,
      });
    for (const k of ['count', 'limit', 'offset'] as const)
      if (q[k] !== undefined) out.push({ path: [k], message: 'applies to list reads (without key); remove it' });
    if (q.order.length > 0) out.push({ path: ['order'], message: 'applies to list reads (without key); remove it' });
  } else {
    if (q.order.length === 0)
      out.push({
        path: ['order'],
        message: "required for a list read (without key): legacy's order, so pages and answers match, e.g. order: [created_at, id]",
      });
    if (q.count !== undefined && q.envelope === undefined)
      out.push({
        path: ['count'],
        message: 'needs envelope (the count sits beside the list), e.g. envelope: articles, count: articlesCount',
      });
    if (q.envelope !== undefined && q.envelope === q.count) out.push({ path: ['count'], message: 'must differ from envelope' });
    for (const k of ['limit', 'offset'] as const) {
      const p = q[k];
      if (p && p.min !== undefined && p.max !== undefined && p.min > p.max)
        out.push({ path: [k, 'max'], message: `is below min (${p.min})` });
    }
    if (q.limit && q.offset && q.limit.param === q.offset.param)
      out.push({ path: ['offset', 'param'], message: `"${q.offset.param}" is also limit's parameter; use another name` });
  }
  return out;
}
