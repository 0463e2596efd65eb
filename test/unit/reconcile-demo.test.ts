/**
 * The demo's set-up (issue 10, items 2 and 6): the sample legacy service on in-process
 * PGlite, the sidecar in front of it with an in-memory event store and an operator token, and
 * `strangler reconcile` given only STRANGLER_ADMIN_URL and STRANGLER_ADMIN_TOKEN. The legacy
 * database is in this process, so the row changed behind the service's back is changed here.
 */
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, startLegacyOrders, type RunningLegacyOrders } from '../../examples/legacy-orders/index.ts';
import { main } from '../../src/cli/main.ts';
import { loadConfig } from '../../src/config/index.ts';
import type { Executor } from '../../src/db/executor.ts';
import { createPgliteExecutor } from '../../src/db/pgliteExecutor.ts';
import { openEventStore, type EventStore } from '../../src/eventstore/index.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { readProjection } from '../../src/projections/runner/projectionRow.ts';
import { startSidecar, type Sidecar } from '../../src/sidecar.ts';
import { until } from '../e2e/fixtures/wait.ts';

const TOKEN = 'demo-operator-token';
let legacyDb: Executor;
let legacy: RunningLegacyOrders;
let store: EventStore;
let sidecar: Sidecar;
let spool: string;
const ids: string[] = [];

beforeAll(async () => {
  legacyDb = await createPgliteExecutor({});
  await migrate(legacyDb);
  legacy = await startLegacyOrders({ db: legacyDb, port: 0 });
  const config = loadConfig({
    file: 'examples/legacy-orders/strangler.yaml',
    env: { STRANGLER_ADMIN_TOKEN: TOKEN, STRANGLER_LEGACY_UPSTREAM: legacy.url, STRANGLER_EVENTSTORE_URL: 'memory' },
  });
  config.server.port = 0;
  config.admin.port = 0;
  config.server.host = config.admin.host = '127.0.0.1';
  spool = await fsp.mkdtemp(path.join(os.tmpdir(), 'strangler-demo-recon-'));
  config.eventStore.spool.path = spool;
  store = await openEventStore({ url: 'memory', migrate: true });
  sidecar = await startSidecar({ config, logger: silentLogger(), store, legacyDb, spoolFsync: false });
  for (let n = 0; n < 5; n++) {
    const res = await fetch(`${sidecar.publicUrl}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ customerId: `cust-${n}`, items: [{ sku: 'SKU-1', quantity: 2, price: '9.99' }] }),
    });
    expect(res.status).toBe(201);
    ids.push(((await res.json()) as { id: string }).id);
  }
  await caughtUp();
}, 60_000);

afterAll(async () => {
  await sidecar?.stop();
  await store?.close();
  await legacy?.close();
  await legacyDb?.close();
  if (spool) await fsp.rm(spool, { recursive: true, force: true });
});

async function caughtUp(): Promise<void> {
  const head = await store.headPosition();
  await until(
    async () => ((await readProjection(store.db, 'orders'))?.checkpoint.position ?? 0) >= head,
    'the projection to catch up',
    20_000,
  );
}

async function cli(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const env = { STRANGLER_ADMIN_URL: sidecar.adminUrl, STRANGLER_ADMIN_TOKEN: TOKEN };
  const code = await main(['reconcile', ...args], { out: (l) => out.push(l), err: (l) => err.push(l), env });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('strangler reconcile on the demo set-up (PGlite legacy, embedded store)', () => {
  it('reports, repairs a row changed behind the service, and leaves the orders projection running', async () => {
    const clean = await cli();
    expect(clean.err).toBe('');
    expect(clean.code).toBe(0);

    await legacyDb.query(`UPDATE orders SET status = 'CANCELLED', updated_at = '2031-05-06 07:08:09.5' WHERE id = $1`, [ids[2]]);
    const repaired = await cli('--repair', '--apply');
    expect(repaired.err).toBe('');
    expect(repaired.out).toMatch(/^repair of run \d+ \(orders\): 1 event\(s\) appended/m);
    expect(repaired.code).toBe(0);

    await caughtUp();
    expect(await readProjection(store.db, 'orders')).toMatchObject({ status: 'running', failure: null });
    const again = await cli();
    expect(again.out).toMatch(/^orders: run \d+, WITHIN TOLERANCE/m);
    expect(again.code).toBe(0);
  });
});
