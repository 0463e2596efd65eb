/**
 * Runs the sample legacy service.
 *
 *   LEGACY_DB_URL  postgres://… | mysql://… (mariadb:// too) | unset → embedded PGlite in ./data/legacy
 *   PORT           default 3000
 *   HOST           default 0.0.0.0
 */
import path from 'node:path';
import { connect, createPgliteExecutor, redactUrl, type Executor } from 'strangler-sidecar';
import { migrate } from './migrate.ts';
import { startLegacyOrders } from './server.ts';

const url = process.env.LEGACY_DB_URL?.trim() || undefined;
const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '0.0.0.0';
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`PORT must be a TCP port number, e.g. PORT=3000 (got "${process.env.PORT}")`);
  process.exit(1);
}

const db: Executor = url ? await connect({ url }) : await createPgliteExecutor({ dataDir: path.resolve('data/legacy') });
await migrate(db);
const running = await startLegacyOrders({ db, port, host });
console.log(
  `legacy-orders listening on http://${host}:${running.port} (database: ${url ? redactUrl(url) : 'embedded PGlite ./data/legacy'})`,
);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  console.log(`legacy-orders: ${signal}, draining`);
  await running.close();
  await db.close();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
