import { PGlite, type Transaction } from '@electric-sql/pglite';
import { lockDataDir, type LockOptions } from '../lock/dataDirLock.ts';
import { checkChannel, type Executor, type QueryOptions, type QueryResult } from './executor.ts';
import { RAW_TEXT_OIDS } from './rawTextOids.ts';
import { withSavepoint } from './savepoints.ts';

const rawParsers = Object.fromEntries([...RAW_TEXT_OIDS].map((oid) => [oid, (v: string) => v]));

export interface PgliteExecutorOptions {
  /** Directory for the data files; omitted = in memory (tests, throwaway demos). */
  dataDir?: string;
  /** What a second process is told about this directory's lock (purpose, the way out). */
  lock?: Partial<LockOptions>;
}

/** The way out for a second process on an embedded directory, unless the caller knows a better one. */
export const EMBEDDED_LOCK_HINT =
  'give this process a directory of its own (eventStore.url: embedded:DIR), or reach the running sidecar through its admin API (--admin URL)';

type Target = PGlite | Transaction;

function wrap(target: Target, inTx: boolean, close: () => Promise<void>, db: PGlite): Executor {
  const self: Executor = {
    dialect: 'pglite',
    inTransaction: inTx,
    async query<R>(sql: string, params?: readonly unknown[], opts?: QueryOptions): Promise<QueryResult<R>> {
      const res = await target.query<R>(sql, params as unknown[] | undefined, opts?.arrays ? { rowMode: 'array' } : undefined);
      return { rows: res.rows, rowCount: res.affectedRows ?? res.rows.length };
    },
    async exec(sql: string) {
      // PGlite's query() takes exactly one statement; multi-statement DDL goes through exec().
      await target.exec(sql);
    },
    async transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
      if (inTx) return withSavepoint(self, fn);
      // PGlite is one backend: its transaction() holds an exclusive lock, so other
      // queries on this instance wait until it ends (the embedded store serialises writers).
      return db.transaction((tx) => fn(wrap(tx, true, async () => {}, db)));
    },
    close,
  };
  return self;
}

export async function createPgliteExecutor(opts: PgliteExecutorOptions = {}): Promise<Executor & { db: PGlite }> {
  // PGlite has no lock of its own: a second process on the same directory corrupts it.
  const lock = opts.dataDir
    ? lockDataDir(opts.dataDir, { purpose: 'embedded database', hint: EMBEDDED_LOCK_HINT, ...opts.lock })
    : undefined;
  let db: PGlite;
  try {
    db = await PGlite.create({ ...(opts.dataDir ? { dataDir: opts.dataDir } : {}), parsers: rawParsers });
  } catch (err) {
    lock?.release();
    throw err;
  }
  let closed = false;
  const exec = wrap(
    db,
    false,
    async () => {
      if (closed) return;
      closed = true;
      try {
        await db.close();
      } finally {
        lock?.release();
      }
    },
    db,
  );
  const listen = async (channel: string, onNotify: (delivered: boolean) => void) => {
    const unlisten = await db.listen(checkChannel(channel), () => onNotify(true));
    onNotify(false);
    return async () => {
      if (!db.closed) await unlisten();
    };
  };
  return Object.assign(exec, { db, listen });
}
