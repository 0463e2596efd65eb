import { createHash } from 'node:crypto';
import type { QuerySpec } from '../config/querySchema.ts';
import { splitRoute } from '../config/routes.ts';
import type { Executor } from '../db/executor.ts';
import { whereConditions } from '../reconcile/engine/sideFilter.ts';
import { ident } from '../projections/modules/sql.ts';
import { makeQueryPlan, tableColumns, type QueryPlan } from './queryPlan.ts';
import { JSON_CONTENT_TYPE, PASS_TO_LEGACY, type ReadAnswer, type ReadHandler, type ReadRequest } from './types.ts';

/**
 * The handler of a declarative read (`reads[].query`, src/config/querySchema.ts). Item read:
 * `SELECT … WHERE key = $1`, no row → `notFound`. List read: equality filters, legacy's
 * order, LIMIT/OFFSET from the request, optionally in an envelope with a count.
 *
 * A request the handler cannot vouch for goes to legacy (PASS_TO_LEGACY): a filter value
 * that does not match its `pattern`, a page parameter that is not an integer within
 * min/max, or a parameter given twice. Legacy answers those as it always did (usually with
 * its own 400), so the handler never has to reproduce legacy's validation messages.
 */
export interface DeclarativeReadHandler extends ReadHandler {
  /**
   * Checks the read-model table now when it exists (throws naming the field); resolves
   * false when it does not exist yet (then the first request says what is missing).
   */
  check(db: Executor): Promise<boolean>;
}

const INTEGER = /^\d{1,15}$/;

export function createQueryHandler(route: string, q: QuerySpec, where: string): DeclarativeReadHandler {
  const contentType = q.contentType ?? JSON_CONTENT_TYPE;
  const filters = Object.entries(q.filters).map(([param, f]) => ({
    param,
    column: f.column,
    pattern: f.pattern === undefined ? undefined : new RegExp(f.pattern),
  }));
  // The config check made sure the route has this parameter (or exactly one).
  const keyParam = q.key?.param ?? splitRoute(route).params[0] ?? '';
  const orderBy = q.order.map((o) => `${ident(o.column)}${o.desc ? ' DESC' : ''}`).join(', ');
  // The plan is made on first use and kept; a failure (no table yet) is retried next time.
  let planned: Promise<QueryPlan> | null = null;
  const plan = (db: Executor) => {
    planned ??= makeQueryPlan(db, q, where).catch((err: unknown) => {
      planned = null;
      throw err;
    });
    return planned;
  };

  const wrap = (value: unknown, extra: Record<string, unknown> = {}) =>
    q.envelope === undefined ? value : { [q.envelope]: value, ...extra };
  const answer = (status: number, body: unknown): ReadAnswer => ({ status, body, contentType });

  /** The `where` conditions, their values appended to params. */
  const fixed = (params: unknown[]) => whereConditions({ dialect: 'postgres', where: q.where }, () => `$${params.length}`, params);

  /** A request value: route parameter first, else the query string; `pass` when given twice. */
  const value = (req: ReadRequest, name: string): string | undefined | ReadAnswer => {
    const fromRoute = req.params[name];
    if (fromRoute !== undefined) return fromRoute;
    const all = req.query.getAll(name);
    if (all.length > 1) return PASS_TO_LEGACY;
    return all[0];
  };

  const page = (req: ReadRequest, spec: QuerySpec['limit']): number | null | undefined => {
    if (!spec) return null;
    const all = req.query.getAll(spec.param);
    if (all.length === 0) return spec.default ?? null;
    const text = all[0]!;
    if (all.length > 1 || !INTEGER.test(text)) return undefined;
    const n = Number(text);
    if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) return undefined;
    return n;
  };

  async function item(req: ReadRequest, db: Executor): Promise<ReadAnswer> {
    const p = await plan(db);
    const key = q.key!;
    const id = req.params[keyParam];
    if (id === undefined) return PASS_TO_LEGACY;
    const params: unknown[] = [id];
    const conditions = [`${ident(key.column)} = $1`, ...fixed(params)];
    const sql = `SELECT ${p.select} FROM ${p.from} WHERE ${conditions.join(' AND ')} LIMIT 1`;
    const { rows } = await db.query(sql, params, { name: statementName(sql) });
    const row = rows[0];
    if (!row) return answer(q.notFound.status, substitute(q.notFound.body, req.params));
    return answer(200, wrap(p.toObject(row)));
  }

  async function list(req: ReadRequest, db: Executor, signal: AbortSignal): Promise<ReadAnswer> {
    const params: unknown[] = [];
    const conditions = fixed(params);
    for (const f of filters) {
      const v = value(req, f.param);
      if (v === undefined) continue;
      if (typeof v !== 'string') return v;
      if (f.pattern && !f.pattern.test(v)) return PASS_TO_LEGACY;
      params.push(v);
      conditions.push(`${ident(f.column)} = $${params.length}`);
    }
    const limit = page(req, q.limit);
    const offset = page(req, q.offset);
    if (limit === undefined || offset === undefined) return PASS_TO_LEGACY;
    const p = await plan(db);
    const filterParams = params.length;
    const where = conditions.length ? ` WHERE ${conditions.join(' AND ')}` : '';
    const counted = q.count !== undefined;
    let sql = `SELECT ${p.select}${counted ? ', count(*) OVER () AS total' : ''} FROM ${p.from}${where} ORDER BY ${orderBy}`;
    if (limit !== null) sql += ` LIMIT ${push(params, limit)}`;
    if (offset !== null && offset > 0) sql += ` OFFSET ${push(params, offset)}`;
    const { rows } = await db.query(sql, params, { name: statementName(sql) });
    const items = rows.map((r) => p.toObject(r));
    if (!counted) return answer(200, wrap(items));
    let total = rows.length ? Number(rows[0]!['total']) : 0;
    // An empty page past the end still reports how many rows match.
    if (!rows.length && offset && !signal.aborted) {
      const n = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${p.from}${where}`, params.slice(0, filterParams));
      total = Number(n.rows[0]?.n ?? 0);
    }
    return answer(200, wrap(items, { [q.count!]: total }));
  }

  return {
    route,
    handle: (req, ctx) => (q.key ? item(req, ctx.db) : list(req, ctx.db, ctx.signal)),
    async check(db) {
      if ((await tableColumns(db, q.table)).size === 0) return false;
      await plan(db);
      return true;
    },
  };
}

function push(params: unknown[], value: unknown): string {
  params.push(value);
  return `$${params.length}`;
}

/** `{id}` in the strings of a JSON value → the route parameter's value. */
export function substitute(value: unknown, params: Readonly<Record<string, string>>): unknown {
  if (typeof value === 'string') return value.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (all, name: string) => params[name] ?? all);
  if (Array.isArray(value)) return value.map((v) => substitute(v, params));
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, params)]));
  return value;
}

const names = new Map<string, string>();
/**
 * A prepared statement's name for a handler's SQL text (the text is fixed per route and per
 * set of filters given, so there are few): planned once per connection instead of on every
 * read, which on a lookup by key costs more than running it.
 */
function statementName(sql: string): string {
  let name = names.get(sql);
  if (name === undefined) {
    name = `strangler_read_${createHash('sha1').update(sql).digest('hex').slice(0, 20)}`;
    names.set(sql, name);
  }
  return name;
}
