import mysql from 'mysql2/promise';

/**
 * A small Knex-style query builder over mysql2, the way many Express services write their
 * repositories (`db('articles').where({ slug }).first()`), without a dependency beyond mysql2.
 * Values are always bound parameters; table and column names come from the code, never
 * from a request, and are quoted.
 */

type Row = Record<string, unknown>;
type Runner = Pick<mysql.Pool, 'query'> | Pick<mysql.PoolConnection, 'query'>;

const ident = (name: string) => `\`${name.replaceAll('`', '``')}\``;

interface Condition {
  sql: string;
  params: unknown[];
}

export class QueryBuilder<T extends Row = Row> {
  #conditions: Condition[] = [];
  #order: string[] = [];
  #limit: number | undefined;
  #offset: number | undefined;
  #lock = false;

  constructor(
    private readonly runner: Runner,
    private readonly table: string,
  ) {}

  /** `where({ a: 1, b: 2 })`: every column equal to its value. */
  where(values: Partial<T>): this {
    for (const [column, value] of Object.entries(values)) {
      this.#conditions.push({ sql: `${ident(column)} = ?`, params: [value] });
    }
    return this;
  }

  whereNot(values: Partial<T>): this {
    for (const [column, value] of Object.entries(values)) {
      this.#conditions.push({ sql: `${ident(column)} <> ?`, params: [value] });
    }
    return this;
  }

  orderBy(column: keyof T & string, direction: 'asc' | 'desc' = 'asc'): this {
    this.#order.push(`${ident(column)} ${direction === 'desc' ? 'DESC' : 'ASC'}`);
    return this;
  }

  limit(n: number): this {
    this.#limit = n;
    return this;
  }

  offset(n: number): this {
    this.#offset = n;
    return this;
  }

  /** SELECT … FOR UPDATE (inside a transaction). */
  forUpdate(): this {
    this.#lock = true;
    return this;
  }

  async select(): Promise<T[]> {
    const { sql, params } = this.#whereClause();
    let text = `SELECT * FROM ${ident(this.table)}${sql}`;
    if (this.#order.length) text += ` ORDER BY ${this.#order.join(', ')}`;
    if (this.#limit !== undefined) text += ` LIMIT ${Math.trunc(this.#limit)}`;
    if (this.#offset !== undefined) text += ` OFFSET ${Math.trunc(this.#offset)}`;
    if (this.#lock) text += ' FOR UPDATE';
    const [rows] = await this.runner.query(text, params);
    return rows as T[];
  }

  async first(): Promise<T | undefined> {
    this.#limit = 1;
    return (await this.select())[0];
  }

  async count(): Promise<number> {
    const { sql, params } = this.#whereClause();
    const [rows] = await this.runner.query(`SELECT COUNT(*) AS n FROM ${ident(this.table)}${sql}`, params);
    return Number((rows as { n: number | string }[])[0]!.n);
  }

  async insert(values: Partial<T>): Promise<void> {
    const columns = Object.keys(values);
    await this.runner.query(
      `INSERT INTO ${ident(this.table)} (${columns.map(ident).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
      Object.values(values),
    );
  }

  /** The number of rows changed. */
  async update(values: Partial<T>): Promise<number> {
    const set = Object.keys(values).map((c) => `${ident(c)} = ?`);
    const { sql, params } = this.#whereClause();
    const [result] = await this.runner.query(`UPDATE ${ident(this.table)} SET ${set.join(', ')}${sql}`, [
      ...(Object.values(values) as unknown[]),
      ...params,
    ]);
    return (result as mysql.ResultSetHeader).affectedRows;
  }

  /** `increment('favorites_count', -1)`, plus other columns to set in the same statement. */
  async increment(column: keyof T & string, by: number, also: Partial<T> = {}): Promise<number> {
    const set = [`${ident(column)} = ${ident(column)} + ?`, ...Object.keys(also).map((c) => `${ident(c)} = ?`)];
    const { sql, params } = this.#whereClause();
    const [result] = await this.runner.query(`UPDATE ${ident(this.table)} SET ${set.join(', ')}${sql}`, [
      by,
      ...(Object.values(also) as unknown[]),
      ...params,
    ]);
    return (result as mysql.ResultSetHeader).affectedRows;
  }

  #whereClause(): Condition {
    if (!this.#conditions.length) return { sql: '', params: [] };
    return { sql: ` WHERE ${this.#conditions.map((c) => c.sql).join(' AND ')}`, params: this.#conditions.flatMap((c) => c.params) };
  }
}

/** `db('users')` starts a query; `db.transaction(fn)` runs fn on one connection, committed or rolled back. */
export interface Db {
  <T extends Row = Row>(table: string): QueryBuilder<T>;
  transaction<R>(fn: (trx: Db) => Promise<R>): Promise<R>;
  raw(sql: string, params?: unknown[]): Promise<unknown>;
}

function bind(runner: Runner, begin: (() => Promise<mysql.PoolConnection>) | null): Db {
  const db = (<T extends Row>(table: string) => new QueryBuilder<T>(runner, table)) as Db;
  db.raw = async (sql, params) => (await runner.query(sql, params))[0];
  db.transaction = async (fn) => {
    if (!begin) return fn(db); // already in one: join it
    const conn = await begin();
    try {
      await conn.beginTransaction();
      const result = await fn(bind(conn, null));
      await conn.commit();
      return result;
    } catch (err) {
      await conn.rollback().catch(() => {});
      throw err;
    } finally {
      conn.release();
    }
  };
  return db;
}

export interface Database {
  db: Db;
  pool: mysql.Pool;
  close(): Promise<void>;
}

/** Opens a pool on a `mysql://` (or `mariadb://`) URL; times are read and written in UTC, as text. */
export function openDatabase(url: string, opts: { connectionLimit?: number } = {}): Database {
  const pool = mysql.createPool({
    uri: url.replace(/^mariadb:/, 'mysql:'),
    connectionLimit: opts.connectionLimit ?? 10,
    dateStrings: true,
    timezone: 'Z',
    charset: 'utf8mb4',
    multipleStatements: true,
  });
  pool.on('connection', (conn) => {
    (conn as unknown as { query(sql: string, cb: (err: unknown) => void): void }).query("SET time_zone = '+00:00'", () => {});
  });
  let closed: Promise<void> | undefined;
  return {
    db: bind(pool, () => pool.getConnection()),
    pool,
    close: () => (closed ??= pool.end()),
  };
}
