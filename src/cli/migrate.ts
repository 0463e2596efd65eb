import { loadConfig, redactUrl } from '../config/index.ts';
import { openEventStore } from '../eventstore/index.ts';
import { migrate } from '../db/migrate.ts';
import type { CliIo } from './main.ts';

/**
 * `strangler migrate`: applies pending event store migrations. The store comes from
 * --url, else STRANGLER_EVENTSTORE_URL, else the config file's eventStore.url.
 */
export async function runMigrate(opts: { configFile?: string; url?: string; io: CliIo }): Promise<number> {
  const url =
    opts.url ??
    opts.io.env.STRANGLER_EVENTSTORE_URL ??
    loadConfig({ ...(opts.configFile ? { file: opts.configFile } : {}), env: opts.io.env, requireUpstream: false }).eventStore.url;
  const store = await openEventStore({ url, migrate: false });
  try {
    const result = await migrate(store.db);
    opts.io.out(
      `event store ${redactUrl(url)}: ${result.applied.length ? `applied ${result.applied.join(', ')}` : 'up to date'} (${result.alreadyApplied} applied before)`,
    );
    return 0;
  } finally {
    await store.close();
  }
}
