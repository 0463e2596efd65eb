/**
 * The one database seam. SQL functions take an Executor as their first argument
 * (`appendToStream(db, streamId, events, opts)`), so the same code runs on a pg pool,
 * inside a transaction, or on embedded PGlite.
 *
 * Drivers hand back raw strings for BIGINT, NUMERIC/DECIMAL, timestamps, dates and JSON:
 * reconciliation compares bytes, and JS numbers and Dates lose exactly the digits it needs.
 */
export type Dialect = 'postgres' | 'pglite' | 'mysql';

export interface QueryResult<R> {
  rows: R[];
  /** Rows changed by INSERT/UPDATE/DELETE, or rows returned by SELECT. */
  rowCount: number;
}

export interface QueryOptions {
  /** A name unique to this SQL text across the process. */
  name?: string;
  /** Rows as arrays of values in select order (no per-row objects: reconciliation reads millions). */
  arrays?: boolean;
}

export interface Executor {
  readonly dialect: Dialect;
  /** True on the executor handed to a transaction callback. */
  readonly inTransaction: boolean;
  /**
   * One statement; placeholders are `$1…` on PostgreSQL/PGlite and `?` on MySQL.
   * `name` makes it a prepared statement on PostgreSQL, planned once per connection: worth
   * it on hot paths, where planning costs more than running (the append plans in ~60 µs).
   */
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[], opts?: QueryOptions): Promise<QueryResult<R>>;
  /**
   * A SELECT whose rows are handed to onRow one by one as they arrive, in order, and not
   * kept: a reader that turns thousands of rows into something else (readAll: rows into
   * events) lets each row die young instead of holding every row until the last arrives.
   * Resolves with the row count; a throw from onRow rejects it (after the rows are drained).
   * Absent where the driver cannot stream: use eachRow(), which falls back to query().
   */
  queryEach?<R = Record<string, unknown>>(sql: string, params: readonly unknown[], onRow: (row: R) => void): Promise<number>;
  /** Several statements without parameters (DDL, migrations). */
  exec(sql: string): Promise<void>;
  /**
   * Runs fn in a transaction: committed when fn resolves, rolled back when it throws.
   * Called on an executor that is already inside a transaction, it opens a savepoint.
   */
  transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T>;
  /** Releases connections; idempotent. */
  close(): Promise<void>;
  /**
   * LISTEN on a channel (PostgreSQL, PGlite): onNotify runs for each notification (`delivered`
   * true), and once after every (re)connect (false), since notifications sent meanwhile are
   * lost. Absent where the backend cannot listen; callers then poll.
   */
  listen?(channel: string, onNotify: (delivered: boolean) => void): Promise<() => Promise<void>>;
}

/** Each row of a SELECT to onRow, in order: streamed where the executor can (queryEach), else from one query(). Returns the row count. */
export async function eachRow<R>(db: Executor, sql: string, params: readonly unknown[], onRow: (row: R) => void): Promise<number> {
  if (db.queryEach) return db.queryEach<R>(sql, params, onRow);
  const { rows } = await db.query<R>(sql, params);
  for (const row of rows) onRow(row);
  return rows.length;
}

const CHANNEL = /^[a-z_][a-z0-9_]*$/;

export function checkChannel(channel: string): string {
  if (!CHANNEL.test(channel)) throw new Error(`Invalid LISTEN channel "${channel}": lowercase letters, digits and _ only.`);
  return channel;
}

/** A database error with the server's fields kept (SQLSTATE code, constraint, detail). */
export interface DbErrorFields {
  code?: string;
  constraint?: string;
  detail?: string;
  errno?: number;
}

export function sqlState(err: unknown): string | undefined {
  if (err && typeof err === 'object' && 'code' in err && typeof err.code === 'string') {
    return (err as { code: string }).code;
  }
  return undefined;
}

/** Named SQLSTATE values the code matches on (PostgreSQL). */
export const PgState = {
  uniqueViolation: '23505',
  serializationFailure: '40001',
  deadlockDetected: '40P01',
  lockNotAvailable: '55P03',
  undefinedTable: '42P01',
  undefinedFunction: '42883',
  queryCanceled: '57014',
  idleInTransactionTimeout: '25P03',
  adminShutdown: '57P01',
} as const;
