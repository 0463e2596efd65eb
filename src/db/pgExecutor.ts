import pg from 'pg';
import { checkChannel, type Executor, type QueryOptions, type QueryResult } from './executor.ts';
import { RAW_TEXT_OIDS } from './rawTextOids.ts';
import { withSavepoint } from './savepoints.ts';

const rawTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (RAW_TEXT_OIDS.has(oid)) return (value: string) => value;
    return pg.types.getTypeParser(oid, format) as (value: string) => unknown;
  },
};

export interface PgExecutorOptions {
  url: string;
  max?: number;
  /** Session settings applied to every connection (`-c name=value`), e.g. idle_in_transaction_session_timeout. */
  settings?: Record<string, string | number>;
  applicationName?: string;
  /**
   * Client-side limit on one query: a connection whose answer never comes (a network
   * path that lost it) fails the query instead of holding a pool client forever.
   */
  queryTimeoutMs?: number;
}

type Queryable = pg.Pool | pg.PoolClient;

function wrap(client: Queryable, inTx: boolean, close: () => Promise<void>, begin?: () => Promise<pg.PoolClient>): Executor {
  const self: Executor = {
    dialect: 'postgres',
    inTransaction: inTx,
    async query<R>(sql: string, params?: readonly unknown[], opts?: QueryOptions): Promise<QueryResult<R>> {
      const run = (name: string | undefined) =>
        client.query({
          text: sql,
          values: params as unknown[] | undefined,
          types: rawTypes,
          ...(name ? { name } : {}),
          ...(opts?.arrays ? { rowMode: 'array' as const } : {}),
        });
      let res: pg.QueryResult;
      try {
        res = await run(opts?.name);
      } catch (err) {
        // A prepared statement whose table was replaced by one with other column types (a
        // read model rebuilt by a new module version) fails on every connection that prepared
        // it ("cached plan must not change result type"): run the text unprepared instead.
        if (!opts?.name || (err as { code?: string }).code !== '0A000') throw err;
        res = await run(undefined);
      }
      return { rows: res.rows as R[], rowCount: res.rowCount ?? res.rows.length };
    },
    async queryEach<R>(sql: string, params: readonly unknown[], onRow: (row: R) => void): Promise<number> {
      if (inTx) return streamRows(client as pg.PoolClient, sql, params, onRow);
      // As pool.query does: a connection whose query failed is not reused (the failure may
      // have been the connection, or a client-side timeout that left the server running it).
      return checkedOut(begin!, async (conn, discard) => {
        try {
          return await streamRows(conn, sql, params, onRow);
        } catch (err) {
          discard();
          throw err;
        }
      });
    },
    async exec(sql: string) {
      await client.query(sql);
    },
    async transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
      if (inTx) return withSavepoint(self, fn);
      return checkedOut(begin!, async (conn, discard) => {
        try {
          await conn.query('BEGIN');
          const tx = wrap(conn, true, async () => {});
          const result = await fn(tx);
          await conn.query('COMMIT');
          return result;
        } catch (err) {
          try {
            await conn.query('ROLLBACK');
          } catch {
            discard(); // the connection is gone (server restart, idle timeout): do not reuse it
          }
          throw err;
        }
      });
    },
    close,
  };
  return self;
}

/**
 * Runs fn on a client checked out of the pool and gives it back, or drops it when it emitted
 * an error or fn called discard(). A checked-out client has no pool listener: a socket error
 * between two statements (server killed) would be an unhandled 'error' event and crash the
 * process. The statement in flight or the next one still fails; the connection is not reused.
 */
async function checkedOut<T>(
  begin: () => Promise<pg.PoolClient>,
  fn: (conn: pg.PoolClient, discard: () => void) => Promise<T>,
): Promise<T> {
  const conn = await begin();
  let broken = false;
  const discard = () => {
    broken = true;
  };
  conn.on('error', discard);
  try {
    return await fn(conn, discard);
  } finally {
    conn.off('error', discard);
    conn.release(broken ? true : undefined);
  }
}

/** pg's row events on one connection: with a 'row' listener and no callback, pg keeps no rows. */
function streamRows<R>(conn: pg.PoolClient, sql: string, params: readonly unknown[], onRow: (row: R) => void): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let count = 0;
    let thrown: Error | null = null;
    const query = new pg.Query<pg.QueryResultRow>({ text: sql, values: params as unknown[], types: rawTypes });
    query.on('row', (row: pg.QueryResultRow) => {
      count++;
      if (thrown) return; // drained: the connection stays in step with the server
      try {
        onRow(row as R);
      } catch (err) {
        thrown = err instanceof Error ? err : new Error(String(err));
      }
    });
    query.on('error', reject);
    query.on('end', () => (thrown ? reject(thrown) : resolve(count)));
    void conn.query(query);
  });
}

export function createPgExecutor(opts: PgExecutorOptions): Executor & { pool: pg.Pool } {
  const options = Object.entries(opts.settings ?? {})
    .map(([k, v]) => `-c ${k}=${v}`)
    .join(' ');
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.max ?? 10,
    application_name: opts.applicationName ?? 'strangler-sidecar',
    // Without it a pool waits forever for a server that is down; callers have deadlines.
    connectionTimeoutMillis: 5_000,
    ...(opts.queryTimeoutMs ? { query_timeout: opts.queryTimeoutMs } : {}),
    // A server or network path that died without a FIN is noticed in ~10 s, not hours.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    ...(options ? { options } : {}),
  });
  // An idle client that errors (server restart) must not crash the process; the next
  // query gets a fresh connection and surfaces the error to its caller.
  pool.on('error', () => {});
  const listeners = new Set<() => Promise<void>>();
  let closed = false;
  const exec = wrap(
    pool,
    false,
    async () => {
      if (closed) return;
      closed = true;
      for (const stop of [...listeners]) await stop();
      await pool.end();
    },
    () => pool.connect(),
  );

  /**
   * A dedicated connection outside the pool (LISTEN is per session; a pool would hand the
   * session to someone else). Behind a transaction-pooling PgBouncer LISTEN does not work:
   * point this URL at PostgreSQL itself, or rely on polling.
   */
  async function listen(channel: string, onNotify: (delivered: boolean) => void): Promise<() => Promise<void>> {
    checkChannel(channel);
    let client: pg.Client | null = null;
    let stopped = false;
    let retry: NodeJS.Timeout | undefined;
    const reconnectLater = () => {
      if (stopped || retry) return;
      void client?.end().catch(() => {});
      client = null;
      retry = setTimeout(() => {
        retry = undefined;
        connectOnce().catch(reconnectLater);
      }, 2_000);
      retry.unref();
    };
    const connectOnce = async () => {
      const c = new pg.Client({
        connectionString: opts.url,
        application_name: `${opts.applicationName ?? 'strangler-sidecar'}:listen`,
        keepAlive: true,
        ...(options ? { options } : {}),
      });
      c.on('error', reconnectLater);
      c.on('notification', (n) => {
        if (n.channel === channel) onNotify(true);
      });
      await c.connect();
      await c.query(`LISTEN ${channel}`);
      if (stopped) return void (await c.end().catch(() => {}));
      client = c;
      onNotify(false);
    };
    await connectOnce();
    const stop = async () => {
      stopped = true;
      listeners.delete(stop);
      clearTimeout(retry);
      await client?.end().catch(() => {});
    };
    listeners.add(stop);
    return stop;
  }
  return Object.assign(exec, { pool, listen });
}
