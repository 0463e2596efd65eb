/**
 * Runs the sample articles service (MariaDB/MySQL only, like the service it stands for).
 *
 *   LEGACY_DB_URL  mysql://… or mariadb://… (required)
 *   JWT_SECRET     the HS256 key of its tokens (required)
 *   PORT           default 3000
 *   HOST           default 0.0.0.0
 */
import { redactUrl } from '../../src/config/redactUrl.ts';
import { openDatabase } from './db.ts';
import { migrate } from './migrate.ts';
import { startLegacyArticles } from './server.ts';

const url = process.env.LEGACY_DB_URL?.trim() ?? '';
const jwtSecret = process.env.JWT_SECRET ?? '';
const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '0.0.0.0';
if (!/^(mysql|mariadb):\/\//.test(url)) {
  console.error('LEGACY_DB_URL must be a MariaDB/MySQL URL, e.g. LEGACY_DB_URL=mysql://root@127.0.0.1:3306/conduit');
  process.exit(1);
}
if (!jwtSecret) {
  console.error('JWT_SECRET must be set (the key the service signs its tokens with), e.g. JWT_SECRET=change-me');
  process.exit(1);
}
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`PORT must be a TCP port number, e.g. PORT=3000 (got "${process.env.PORT}")`);
  process.exit(1);
}

const database = openDatabase(url);
await migrate(database.db);
const running = await startLegacyArticles({ db: database.db, jwtSecret, port, host });
console.log(`legacy-articles listening on http://${host}:${running.port} (database: ${redactUrl(url)})`);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  console.log(`legacy-articles: ${signal}, draining`);
  await running.close();
  await database.close();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
