import path from 'node:path';
import type { Executor } from './executor.ts';
import type { PgExecutorOptions } from './pgExecutor.ts';
import { StranglerError } from '../errors/StranglerError.ts';
import { redactUrl } from '../config/redactUrl.ts';

export interface ConnectOptions {
  /** `embedded`, `embedded:/path/to/dir`, `memory`, `postgres://…`, `mysql://…`, `mariadb://…`. */
  url: string;
  /** Data directory for `embedded` (default ./data/eventstore). */
  embeddedDir?: string;
  max?: number;
  settings?: PgExecutorOptions['settings'];
  queryTimeoutMs?: number;
}

/**
 * Opens the executor a URL names. The caller owns it and closes it. Each driver is imported
 * here, when a URL needs it: a sidecar on PostgreSQL never loads PGlite (its WebAssembly
 * build) nor mysql2, which it would otherwise pay for in start-up time and memory per pod.
 */
export async function connect(opts: ConnectOptions): Promise<Executor> {
  const { url } = opts;
  if (url === 'memory') {
    const { createPgliteExecutor } = await import('./pgliteExecutor.ts');
    return createPgliteExecutor({});
  }
  if (url === 'embedded' || url.startsWith('embedded:')) {
    const dir = url.startsWith('embedded:') ? url.slice('embedded:'.length) : (opts.embeddedDir ?? './data/eventstore');
    const { createPgliteExecutor } = await import('./pgliteExecutor.ts');
    return createPgliteExecutor({ dataDir: path.resolve(dir) });
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    const { createPgExecutor } = await import('./pgExecutor.ts');
    return createPgExecutor({
      url,
      ...(opts.max ? { max: opts.max } : {}),
      ...(opts.settings ? { settings: opts.settings } : {}),
      ...(opts.queryTimeoutMs ? { queryTimeoutMs: opts.queryTimeoutMs } : {}),
    });
  }
  if (/^(mysql|mariadb):\/\//.test(url)) {
    const { createMysqlExecutor } = await import('./mysqlExecutor.ts');
    return createMysqlExecutor({ url: url.replace(/^mariadb:/, 'mysql:'), ...(opts.max ? { max: opts.max } : {}) });
  }
  throw new StranglerError(
    'bad_database_url',
    `Unsupported database URL "${redactUrl(url)}". Example: postgres://user@127.0.0.1:5432/events, mysql://user@127.0.0.1:3306/legacy or embedded`,
    { status: 400 },
  );
}
