import type { Executor, QueryResult } from '../../db/executor.ts';
import { PgState, sqlState } from '../../db/executor.ts';

/**
 * Load limits on the legacy database: every statement runs under a server-side time limit,
 * and `busy()` tells how many statements the server runs right now (paused above the threshold).
 */
export interface LegacyReader {
  query<R = unknown[]>(sql: string, params: readonly unknown[]): Promise<QueryResult<R>>;
  busy(): Promise<number>;
}

export async function createLegacyReader(db: Executor, timeoutMs: number): Promise<LegacyReader> {
  if (db.dialect === 'mysql') {
    const { rows } = await db.query<{ v: string }>('SELECT VERSION() AS v');
    const mariadb = /mariadb/i.test(rows[0]?.v ?? '');
    const seconds = (timeoutMs / 1000).toFixed(3);
    return {
      // MariaDB: SET STATEMENT … FOR; MySQL: the optimizer hint (milliseconds).
      query: (sql, params) =>
        db.query(
          mariadb
            ? `SET STATEMENT max_statement_time=${seconds} FOR ${sql}`
            : sql.replace(/^SELECT /, `SELECT /*+ MAX_EXECUTION_TIME(${Math.round(timeoutMs)}) */ `),
          params,
          { arrays: true },
        ),
      async busy() {
        const { rows: s } = await db.query<{ Value: string }>(`SHOW GLOBAL STATUS LIKE 'Threads_running'`);
        return Number(s[0]?.Value ?? 0);
      },
    };
  }
  return {
    query: (sql, params) =>
      db.transaction(async (tx) => {
        await tx.query(`SET LOCAL statement_timeout = ${Math.round(timeoutMs)}`);
        return tx.query(sql, params, { arrays: true });
      }),
    async busy() {
      const { rows } = await db.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid()`,
      );
      return Number(rows[0]?.n ?? 0);
    },
  };
}

/** A statement stopped by its time limit (MariaDB 1969, MySQL 3024, PostgreSQL 57014). */
export function isStatementTimeout(err: unknown): boolean {
  const errno = err && typeof err === 'object' && 'errno' in err ? err.errno : undefined;
  return errno === 1969 || errno === 3024 || sqlState(err) === PgState.queryCanceled;
}
