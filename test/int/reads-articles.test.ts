/**
 * A declarative read on a service shaped like a real one (examples/legacy-articles, RealWorld
 * on MariaDB, row projection): GET /api/profiles/:username from the read model equals legacy's
 * answer for every user, after renames and bio/image changes (set and cleared), for a
 * soft-deleted user and for a name nobody has: status, content type and bytes.
 */
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  migrate,
  openDatabase,
  startLegacyArticles,
  type Database,
  type RunningLegacyArticles,
} from '../../examples/legacy-articles/index.ts';
import { loadConfig } from '../../src/config/index.ts';
import type { SidecarStatus } from '../../src/admin/statusRoutes.ts';
import { Secret } from '../../src/config/secret.ts';
import { openEventStore, type EventStore } from '../../src/eventstore/index.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { loadReadHandlers } from '../../src/reads/loadReadHandlers.ts';
import type { ReadHandler } from '../../src/reads/types.ts';
import { startSidecar, type Sidecar } from '../../src/sidecar.ts';
import { until } from '../e2e/fixtures/wait.ts';
import { createMysqlTestDb, createPgTestDb, type TestDb } from '../harness/db.ts';
import { seededRandom } from '../helpers/seed.ts';

const rand = seededRandom('articles profile reads');
const OPERATOR = 'reads-articles-op';

describe('GET /api/profiles/:username from the read model equals legacy (MariaDB legacy)', () => {
  let legacyDb: TestDb;
  let storeDb: TestDb;
  let database: Database;
  let store: EventStore;
  let service: RunningLegacyArticles;
  let sidecar: Sidecar;
  let spoolDir: string;
  let profile: ReadHandler;
  const tokenOf = new Map<string, string>();
  const names: string[] = [];
  const renamed: string[] = [];

  beforeAll(async () => {
    legacyDb = await createMysqlTestDb('reads_articles');
    storeDb = await createPgTestDb('reads_articles_store');
    database = openDatabase(legacyDb.url, { connectionLimit: 4 });
    await migrate(database.db);
    service = await startLegacyArticles({ db: database.db, jwtSecret: `secret-${rand.int(0, 1e9)}` });
    store = await openEventStore({ url: storeDb.url, migrate: true });
    spoolDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'strangler-reads-articles-'));
    const config = loadConfig({
      file: 'examples/legacy-articles/strangler.yaml',
      env: { STRANGLER_LEGACY_UPSTREAM: service.url, STRANGLER_EVENTSTORE_URL: storeDb.url, STRANGLER_LEGACY_DB_URL: legacyDb.url },
    });
    Object.assign(config.server, { host: '127.0.0.1', port: 0 });
    Object.assign(config.admin, { host: '127.0.0.1', port: 0 });
    config.admin.resolvedTokens = [{ name: 'ops', role: 'operator', secret: new Secret(OPERATOR) }];
    config.eventStore.spool.path = spoolDir;
    config.eventStore.appendTimeoutMs = 10_000;
    sidecar = await startSidecar({ config, store, logger: silentLogger(), spoolFsync: false, drainIntervalMs: 20, schedule: false });

    const call = async (method: string, url: string, body: unknown, as?: string) => {
      const res = await fetch(sidecar.publicUrl + url, {
        method,
        headers: { 'content-type': 'application/json', ...(as ? { authorization: `Token ${tokenOf.get(as)!}` } : {}) },
        body: JSON.stringify(body),
      });
      const json = (await res.json()) as { user?: { username: string; token: string } };
      expect(res.status, `${method} ${url}`).toBeLessThan(300);
      if (json.user) tokenOf.set(json.user.username, json.user.token);
      return json.user!;
    };
    for (let i = 0; i < 40; i++) {
      const name = `u${i}_${rand.int(0, 1e6)}`;
      await call('POST', '/api/users', { user: { username: name, email: `${name}@example.org`, password: 'secret-pw' } });
      names.push(name);
    }
    for (const name of names.filter(() => rand() < 0.5)) {
      const change = rand.pick([
        { bio: `bio of ${name} ✓`, image: `https://img.example/${name}.png` },
        { bio: null },
        { bio: '', image: null },
        { username: `${name}.new` },
      ]);
      const user = await call('PUT', '/api/user', { user: change }, name);
      if (user.username !== name) {
        renamed.push(name);
        names[names.indexOf(name)] = user.username;
      }
    }
    // A soft-deleted user, as a captured soft delete leaves both sides (there is no route for it here).
    const gone = names.pop()!;
    await database.db('users').where({ username: gone }).update({ record_status: 'deleted' });
    renamed.push(gone);

    await until(
      async () => {
        const res = await fetch(`${sidecar.adminUrl}/admin/status`, { headers: { authorization: `Bearer ${OPERATOR}` } });
        const s = (await res.json()) as SidecarStatus;
        return s.spool?.depth === 0 && s.projections!.every((p) => p.state === 'running' && p.lagEvents === 0);
      },
      'the projections to catch up',
      30_000,
    );
    await store.db.query(`UPDATE users SET record_status = 'deleted' WHERE username = $1`, [gone]); // after the catch-up
    profile = (await loadReadHandlers(config.entities, { db: store.db })).get('users')!.get('GET /api/profiles/:username')!;
  }, 120_000);

  afterAll(async () => {
    await sidecar?.stop();
    await store?.close();
    await service?.close();
    await database?.close();
    await legacyDb?.drop();
    await storeDb?.drop();
    if (spoolDir) await fsp.rm(spoolDir, { recursive: true, force: true });
  });

  it('every user, every old or deleted name, a name nobody has', async () => {
    const all = [...names, ...renamed, 'nobody-at-all'];
    expect(renamed.length).toBeGreaterThan(1);
    let found = 0;
    for (const username of all) {
      const path = `/api/profiles/${encodeURIComponent(username)}`;
      const legacy = await fetch(service.url + path);
      const text = await legacy.text();
      const answer = await profile.handle(
        { method: 'GET', url: path, params: { username }, query: new URLSearchParams(), headers: {} },
        { db: store.db, signal: new AbortController().signal },
      );
      expect(answer.status, path).toBe(legacy.status);
      expect(answer.contentType, path).toBe(legacy.headers.get('content-type'));
      expect(JSON.stringify(answer.body), path).toBe(text);
      if (legacy.status === 200) found++;
    }
    expect(found).toBe(names.length);
  });
});
