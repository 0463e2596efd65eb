import mysql from 'mysql2/promise';
import type { Executor, QueryOptions, QueryResult } from './executor.ts';
import { withSavepoint } from './savepoints.ts';

export interface MysqlExecutorOptions {
  url: string;
  max?: number;
}

// mysql2 hands JSON columns back parsed; reconciliation needs the server's text.
const typeCast = (field: { type: string; string(): string | null }, next: () => unknown) =>
  field.type === 'JSON' ? field.string() : next();

type Conn = mysql.Pool | mysql.PoolConnection;

function wrap(conn: Conn, inTx: boolean, close: () => Promise<void>, begin?: () => Promise<mysql.PoolConnection>): Executor {
  const self: Executor = {
    dialect: 'mysql',
    inTransaction: inTx,
    async query<R>(sql: string, params?: readonly unknown[], opts?: QueryOptions): Promise<QueryResult<R>> {
      const [result] = await conn.query({ sql, rowsAsArray: opts?.arrays === true }, params as unknown[] | undefined);
      if (Array.isArray(result)) return { rows: result as R[], rowCount: result.length };
      const header = result as mysql.ResultSetHeader;
      return { rows: [], rowCount: header.affectedRows };
    },
    async exec(sql: string) {
      await conn.query(sql);
    },
    async transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
      if (inTx) return withSavepoint(self, fn);
      const c = await begin!();
      try {
        await c.beginTransaction();
        const result = await fn(wrap(c, true, async () => {}));
        await c.commit();
        return result;
      } catch (err) {
        await c.rollback().catch(() => {});
        throw err;
      } finally {
        c.release();
      }
    },
    close,
  };
  return self;
}

/**
 * MySQL/MariaDB executor for the legacy database. BIGINT, DECIMAL, DATE/DATETIME/TIMESTAMP
 * and JSON come back as the server's text; sessions run in UTC.
 */
export function createMysqlExecutor(opts: MysqlExecutorOptions): Executor & { pool: mysql.Pool } {
  const pool = mysql.createPool({
    uri: opts.url,
    connectionLimit: opts.max ?? 10,
    supportBigNumbers: true,
    bigNumberStrings: true,
    decimalNumbers: false,
    dateStrings: true,
    timezone: 'Z',
    charset: 'utf8mb4',
    multipleStatements: true,
    // MariaDB marks JSON only in column metadata and mysql2 parses it before typeCast runs.
    jsonStrings: true,
    typeCast: typeCast,
  });
  // TIMESTAMP columns are read (and NOW() written) in the session time zone: UTC, always,
  // whatever the server's default, so the same instant reads the same from every client.
  // The event hands over the callback-style core connection (not the promise wrapper); its
  // commands run in order, so the SET precedes the first query made on it.
  pool.on('connection', (conn) => {
    (conn as unknown as { query(sql: string, cb: (err: unknown) => void): void }).query("SET time_zone = '+00:00'", () => {});
  });
  let closed = false;
  const exec = wrap(
    pool,
    false,
    async () => {
      if (closed) return;
      closed = true;
      await pool.end();
    },
    () => pool.getConnection(),
  );
  return Object.assign(exec, { pool });
}
