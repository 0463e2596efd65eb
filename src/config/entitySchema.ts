import { z } from 'zod';
import { bool, expected, matching, modulePath, oneOf, positiveInt, rate, sqlIdentifier } from './fields.ts';
import { commandRoute, readRoute, splitRoute } from './routes.ts';
import { dataFieldName, toJsonPath } from '../capture/jsonPath.ts';
import { whereSchema } from './whereSchema.ts';
import { queryProblems, querySchema } from './querySchema.ts';

/** One entity of the migration spec (`entities.orders`): where it lives, which routes write and read it. */

// `$.article.id` or `article.id`: a dotted walk into a JSON body.
const JSON_PATH = /^(\$\.)?[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const DATA_PATH = /^(\$\.)?[A-Za-z_$][A-Za-z0-9_$-]*(\.[A-Za-z_$][A-Za-z0-9_$-]*)*$/;
const EVENT_TYPE = /^[A-Za-z][A-Za-z0-9_.-]*$/;
const FIELD_NAME = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;
// `$.servedAt`, `$.items[*].price`, `$.meta.tags[0]`: where a shadow comparison looks away.
const IGNORE_PATH = /^\$(\.[A-Za-z_$][A-Za-z0-9_$-]*|\[(\*|\d+)\])*$/;

export const ENTITY_NAME = /^[a-z][a-z0-9_]*$/;
const PROJECTION = /^(row|of:[a-z][a-z0-9_]*|\S.*\.(ts|mts|js|mjs))$/;
/** `of:orders` → `orders`; null for `row` and module paths. */
export function projectionOwner(projection: string): string | null {
  return projection.startsWith('of:') ? projection.slice(3) : null;
}
export const RECONCILE_RULES = ['ignore', 'trim', 'rtrim', 'lowercase', 'empty_as_null'] as const;
/** `digits:N`: compare a float column at N significant digits (default 6 for FLOAT/real, 15 for DOUBLE). */
export const DIGITS_RULE = /^digits:([1-9]|1[0-7])$/;

function fieldName() {
  return matching(FIELD_NAME, 'a field name (letters, digits, _ and -)');
}

function fieldList() {
  return z.array(fieldName(), expected('a list of field names'));
}

function jsonPath(what: string) {
  return matching(JSON_PATH, what).transform(toJsonPath);
}

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LOOKUP_SOURCES = ['param', 'request', 'response'] as const;

/**
 * Finds the legacy row by another unique column (a slug, a username) when the stream id is
 * the table key (`legacy.key`, e.g. a UUID the API never shows): `WHERE column = value`, the
 * value taken from one source. See src/capture/lookup.ts.
 */
const lookupSchema = z
  .strictObject(
    {
      column: sqlIdentifier(),
      /** A route parameter (`slug` for `/api/articles/:slug`). */
      param: matching(PARAM_NAME, 'a route parameter name like slug').optional(),
      /** A JSON path into the whole request body. */
      request: jsonPath('a JSON path into the request body like "$.article.slug"').optional(),
      /** A JSON path into the whole legacy response (e.g. the new slug after a rename). */
      response: jsonPath('a JSON path into the response body like "$.user.username"').optional(),
    },
    expected('a mapping with column and one of param, request or response'),
  )
  .superRefine((lookup, ctx) => {
    const given = LOOKUP_SOURCES.filter((s) => lookup[s] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message:
          given.length === 0
            ? 'needs one source of the value: param (a route parameter), request or response (a JSON path)'
            : `has ${given.join(' and ')}; keep one source of the value`,
      });
    }
  });

/** What config check says when a command cannot tell which row (stream) it writes. */
function noKeyMessage(route: string): string {
  return (
    `required because "${route}" has no :id parameter: set id (a JSON path into the response body), ` +
    'or lookup: { column, param|request|response } to find the legacy row by another unique column ' +
    '(the stream id is then the row\'s legacy.key), e.g. lookup: { column: username, response: "$.user.username" }'
  );
}

export const commandSchema = z
  .strictObject(
    {
      route: commandRoute(),
      event: matching(EVENT_TYPE, 'an event type name like OrderPaid'),
      /**
       * Where the stream id comes from: a JSON path into the whole legacy response (`$.id`,
       * `$.article.id`, or `article.id`), else the route's `:id`. Not relative to `root`.
       */
      id: jsonPath('a JSON path into the response body like "$.id" or "$.article.id"').optional(),
      capture: oneOf(['request', 'response', 'row']).default('request'),
      /**
       * An envelope (`{"article": {...}}`): the captured body's object at this JSON path becomes
       * the event data, and `data` paths are relative to it. Request and response capture only.
       */
      root: jsonPath('a JSON path into the captured body like "$.article"').optional(),
      /**
       * Fields of the captured body kept in the event; omitted = all (minus the entity's
       * `redact`). A name (`title`) or a JSON path (`article.title`, `$.article.title`), kept
       * under its last key (`title`). With `root` or `data`, an event whose data comes out
       * empty is not appended: a capture error `empty_data`.
       */
      data: z
        .array(matching(DATA_PATH, 'a field name or a JSON path like article.title'), expected('a list of field names or JSON paths'))
        .optional(),
      /**
       * Fields of legacy's 2xx answer added to the event data whatever is captured: JSON
       * paths into the whole response (`$.updatedAt`, not relative to `root`), each kept under
       * its last key and redacted like the rest. For values legacy sets itself (a server-side
       * `updated_at`) that the request cannot carry. The field always comes from the answer:
       * a path absent from it (or an answer that is not JSON) leaves the field out of the event.
       */
      responseData: z
        .array(
          matching(DATA_PATH, 'a JSON path into the response body like "$.updatedAt"').transform(toJsonPath),
          expected('a list of JSON paths into the response body like ["$.updatedAt"]'),
        )
        .optional(),
      expectedVersion: oneOf(['any', 'no_stream', 'stream_exists']).default('any'),
      /**
       * The stream id is the legacy row's `legacy.key`, found by `column = value`; the value
       * from a route parameter or the request (looked up before forwarding, so a delete or a
       * rename still finds its row) or from the response (after the 2xx answer).
       */
      lookup: lookupSchema.optional(),
    },
    expected('a mapping with route and event'),
  )
  .superRefine((cmd, ctx) => {
    if (cmd.root !== undefined && cmd.capture === 'row') {
      ctx.addIssue({
        code: 'custom',
        path: ['root'],
        message: 'applies to capture: request or response (capture: row reads the legacy row, which has no envelope); remove it',
      });
    }
    const fields = new Map<string, string>();
    for (const [i, path] of (cmd.data ?? []).entries()) {
      const field = dataFieldName(path);
      const seen = fields.get(field);
      if (seen !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['data', i],
          message: `"${path}" and "${seen}" both land in the event field "${field}"; keep one, or set root so the paths are shorter`,
        });
      fields.set(field, path);
    }
    const fromResponse = new Map<string, string>();
    for (const [i, path] of (cmd.responseData ?? []).entries()) {
      const field = dataFieldName(path);
      const seen = fromResponse.get(field) ?? fields.get(field);
      if (seen !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['responseData', i],
          message: fromResponse.has(field)
            ? `"${path}" and "${seen}" both land in the event field "${field}"; keep one`
            : `"${field}" is in data too ("${seen}"); responseData always takes it from legacy's answer: remove it from data`,
        });
      fromResponse.set(field, path);
    }
    // zod runs this even when `route` failed its pattern; a bad route is reported once, by itself.
    if (!commandRoute().safeParse(cmd.route).success) return;
    const params = splitRoute(cmd.route).params;
    if (cmd.lookup !== undefined) {
      if (cmd.id !== undefined)
        ctx.addIssue({ code: 'custom', path: ['id'], message: "with lookup the stream id is the row's legacy.key; remove id" });
      const param = cmd.lookup.param;
      if (param !== undefined && !params.includes(param)) {
        ctx.addIssue({
          code: 'custom',
          path: ['lookup', 'param'],
          message: `"${cmd.route}" has no :${param} parameter (${params.length ? `it has ${params.map((p) => `:${p}`).join(', ')}` : 'it has none'})`,
        });
      }
    } else if (cmd.id === undefined && !params.includes('id')) {
      ctx.addIssue({ code: 'custom', path: ['id'], message: noKeyMessage(cmd.route) });
    }
  });

export const readSchema = z
  .strictObject(
    {
      route: readRoute(),
      handler: modulePath().optional(),
      query: querySchema.optional(),
      /** Shadow comparison: JSON paths never compared on this route, each with the reason. */
      ignore: z
        .array(
          z.strictObject(
            { path: matching(IGNORE_PATH, 'a JSON path like $.servedAt or $.items[*].updatedAt'), reason: z.string().min(1) },
            expected('a mapping with path and reason, like { path: $.servedAt, reason: set per request }'),
          ),
          expected('a list of { path, reason }'),
        )
        .default([]),
    },
    expected('a mapping with route and either handler or query'),
  )
  .superRefine((read, ctx) => {
    const given = [read.handler, read.query].filter((v) => v !== undefined).length;
    if (given !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: given === 0 ? 'needs either handler (a module) or query (a table lookup)' : 'has both handler and query; keep one',
      });
    }
    if (read.query !== undefined && readRoute().safeParse(read.route).success)
      for (const issue of queryProblems(read.route, read.query)) ctx.addIssue({ code: 'custom', ...issue, path: ['query', ...issue.path] });
  });

// `orders` or `rm.orders`: the read model may live in a schema of its own.
const QUALIFIED_TABLE = /^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$/;

function tableRef(qualified = false) {
  return z
    .strictObject(
      {
        /** Omitted = the entity's name. */
        table: (qualified
          ? matching(QUALIFIED_TABLE, 'a table name, optionally schema-qualified (orders or rm.orders)')
          : sqlIdentifier()
        ).optional(),
        key: sqlIdentifier().default('id'),
      },
      expected('a mapping with table and key'),
    )
    .prefault({});
}

const ruleSchema = z.union(
  [oneOf(RECONCILE_RULES), matching(DIGITS_RULE, 'digits:N with N from 1 to 17')],
  expected(`one of ${RECONCILE_RULES.join(', ')} or digits:N`),
);
const columnsWhat = 'all, a list of column names or a mapping of legacy column → read-model column';

const reconcileSchema = z
  .strictObject(
    {
      /** Legacy key columns walked in order; default the entity's legacy.key. A list for a composite key (e.g. [order_id, sku]). */
      key: z.array(sqlIdentifier(), expected('a list of key column names')).min(1, expected('a list of key column names')).optional(),
      /** Normalised to a map legacy column → read-model column; `all` = every legacy column, same names. */
      columns: z
        .union(
          [
            z.literal('all'),
            z.array(sqlIdentifier()).transform((list) => Object.fromEntries(list.map((c) => [c, c]))),
            z.record(sqlIdentifier(), sqlIdentifier()),
          ],
          expected(columnsWhat),
        )
        .default('all'),
      /** Column → comparison rules applied to both sides before hashing; one rule or a list. */
      rules: z
        .record(
          sqlIdentifier(),
          z.union(
            [ruleSchema.transform((r) => [r]), z.array(ruleSchema)],
            expected(`one of ${RECONCILE_RULES.join(', ')}, digits:N, or a list of them`),
          ),
          expected('a mapping of column → rule'),
        )
        .default({}),
      /** Row filter per side (whereSchema.ts): e.g. only live rows, `{ record_status: { not: deleted } }`. */
      where: whereSchema,
    },
    expected('a mapping with columns and rules'),
  )
  .superRefine((rec, ctx) => {
    if (rec.columns === 'all') return;
    for (const column of Object.keys(rec.rules)) {
      if (!(column in rec.columns)) {
        ctx.addIssue({
          code: 'custom',
          path: ['rules', column],
          message: `column "${column}" is not in reconcile.columns, so this rule never applies`,
        });
      }
    }
  })
  .prefault({});

export const entitySchema = z.strictObject(
  {
    /** `{entity}` and `{id}` are replaced; every stream of the entity must differ only by `{id}`. */
    stream: matching(/\{id\}/, 'a stream name template containing {id}, like "orders-{id}"').default('{entity}-{id}'),
    legacy: tableRef(),
    /** Where the projection writes, in the event store's database; `schema.table` is accepted. */
    readModel: tableRef(true),
    /**
     * `row` (the generic row projection), a path to a projection module, or `of:ENTITY`: the
     * read model is one of the tables ENTITY's projection builds (order_items under orders),
     * so this entity has no projection of its own and is here to be reconciled.
     */
    projection: matching(PROJECTION, 'row, of:ENTITY, or a path to a .ts or .js projection module').default('row'),
    /** Fields removed from captured bodies before they become event data (card numbers, passwords). */
    redact: fieldList().default([]),
    commands: z.array(commandSchema, expected('a list of commands')).default([]),
    /**
     * The entity's item DELETE (deleteRoutes.ts) keeps the row: an update re-reading it from
     * legacy (capture: row) when there is a legacy database, else setting `column` to `value`.
     */
    softDelete: z
      .strictObject(
        {
          column: sqlIdentifier(),
          value: z.union([z.string(), z.number(), z.boolean()], expected('a string, number or true/false')),
        },
        expected('a mapping with column and value, like { column: record_status, value: deleted }'),
      )
      .optional(),
    /** Event type → what it does to the row for `projection: row`, over the rule of row/kinds.ts. */
    rowEvents: z
      .record(
        matching(EVENT_TYPE, 'an event type name like ArticleArchived'),
        oneOf(['created', 'updated', 'deleted']),
        expected('a mapping of event type → created, updated or deleted'),
      )
      .optional(),
    reads: z.array(readSchema, expected('a list of reads')).default([]),
    reconcile: reconcileSchema,
    /** The guard for this entity, over the top-level `rollback` section (docs/guard.md). */
    rollback: z
      .strictObject(
        {
          policy: oneOf(['rollback', 'freeze', 'alert']).optional(),
          dryRun: bool().optional(),
          threshold: positiveInt().optional(),
          projectionLagMs: positiveInt().optional(),
          stateMismatchRate: rate().optional(),
          errorRate: rate().optional(),
          maxLatencyRatio: z.number(expected('a number above 0, like 1.5')).positive(expected('a number above 0, like 1.5')).optional(),
          minSamples: positiveInt().optional(),
          maxSpoolDepth: positiveInt().optional(),
        },
        expected('a mapping with policy, dryRun or thresholds, like { policy: alert, dryRun: true }'),
      )
      .optional(),
  },
  expected('a mapping describing the entity'),
);

/** `entities`: name → entity, with the name-dependent defaults (table names, stream template) filled in. */
export const entitiesSchema = z
  .record(
    matching(ENTITY_NAME, 'an entity name (lowercase letters, digits and _)'),
    entitySchema,
    expected('a mapping of entity name → entity'),
  )
  .default({})
  .transform((entities) =>
    Object.fromEntries(
      Object.entries(entities).map(([name, e]) => [
        name,
        {
          ...e,
          stream: e.stream.replaceAll('{entity}', name),
          legacy: { table: e.legacy.table ?? name, key: e.legacy.key },
          readModel: { table: e.readModel.table ?? name, key: e.readModel.key },
        },
      ]),
    ),
  );
