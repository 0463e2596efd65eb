import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAdminServer } from '../../src/admin/adminServer.ts';
import { createReconciliationRoutes } from '../../src/admin/reconciliationRoutes.ts';
import { main } from '../../src/cli/main.ts';
import { configSchema } from '../../src/config/schema.ts';
import { Secret } from '../../src/config/secret.ts';
import { connect } from '../../src/db/connect.ts';
import { createMysqlExecutor } from '../../src/db/mysqlExecutor.ts';
import { openEventStore, type EventStore } from '../../src/eventstore/index.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { createMetrics } from '../../src/metrics/metrics.ts';
import { createOrdersProjection, orderUpcasters } from '../../examples/legacy-orders/projections/orders/index.ts';
import { readProjection } from '../../src/projections/runner/projectionRow.ts';
import { createProjectionRunner } from '../../src/projections/runner/runner.ts';
import { createUpcasterRegistry } from '../../src/projections/upcast.ts';
import { createReconciler } from '../../src/reconcile/reconciler.ts';
import { renderReportHtml } from '../../src/reconcile/report/html.ts';
import { recordReportMetrics } from '../../src/reconcile/report/reportMetrics.ts';
import { createReconcileScheduler } from '../../src/reconcile/schedule.ts';
import { getRun, listRuns } from '../../src/reconcile/store/runs.ts';
import { until } from '../e2e/fixtures/wait.ts';
import { createMysqlTestDb, createPgTestDb, type TestDb } from '../harness/db.ts';

// Honest verdicts and exit codes (issue 10, items 3, 4, 5, 7 and 9): a paused or lagging
// projection makes a run inconclusive, one entity's error leaves the others' verdicts, a
// repair exits by the repair, a run that fails before its first chunk is still listed, and a
// table is never compared with itself. Each test seeds databases of its own (50 rows): no
// test sees another's drift, runs, appended events or paused projection.
const ROOT = path.resolve(import.meta.dirname, '../..');
const ROWS = 50;
const module = createOrdersProjection();
const id = (n: number) => `ord_${n.toString(16).padStart(16, '0')}`;
const PROJECTION = path.join(ROOT, 'examples/legacy-orders/projections/orders.ts');
let legacyDb: TestDb;
let storeDb: TestDb;
let legacy: ReturnType<typeof createMysqlExecutor>;
let store: EventStore;
let dir: string;

function writeConfig(name: string, extra: string): string {
  const file = path.join(dir, name);
  writeFileSync(
    file,
    `legacy:
  upstream: http://127.0.0.1:3000
  database: { url: "${legacyDb.url}" }
eventStore: { url: "${storeDb.url}" }
reconciliation: { graceMs: 0 }
entities:
  orders:
    stream: "orders-{id}"
    projection: ${PROJECTION}
    reconcile: { columns: [id, customer_id, status, total_amount, created_at] }
${extra}`,
  );
  return file;
}

async function cli(args: string[], env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['reconcile', ...args], { out: (l) => out.push(l), err: (l) => err.push(l), env });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

beforeEach(async () => {
  legacyDb = await createMysqlTestDb('verdicts');
  storeDb = await createPgTestDb('verdicts');
  legacy = createMysqlExecutor({ url: legacyDb.url, max: 2 });
  store = await openEventStore({ url: storeDb.url, migrate: true, poolSize: 4 });
  await legacy.exec(readFileSync(path.join(ROOT, 'examples/legacy-orders/schema/mysql.sql'), 'utf8'));
  await store.db.exec(module.ddl({ orders: 'orders', order_items: 'order_items', order_tombstones: 'order_tombstones' }));
  const rows = Array.from({ length: ROWS }, (_, i) => [id(i + 1), `cust-${i % 7}`, 'CREATED', `${i}.50`, '2026-01-02 03:04:05.123456']);
  await legacy.query('INSERT INTO orders (id, customer_id, status, total_amount, created_at, updated_at) VALUES ?', [
    rows.map((r) => [...r, r[4]]),
  ]);
  for (const r of rows) await store.db.query(`INSERT INTO orders VALUES ($1, $2, $3, $4, $5, $5, 0)`, r);
  dir = mkdtempSync(path.join(os.tmpdir(), 'strangler-verdicts-'));
}, 60_000);

afterEach(async () => {
  await legacy?.close();
  await store?.close();
  await legacyDb?.drop();
  await storeDb?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('exit codes and partial failures of strangler reconcile --config', () => {
  it("one entity's error does not stop the others: each gets its verdict, the error is printed once, the run is listed failed, exit 2", async () => {
    // The read model exists; the legacy table does not (a typo in the spec).
    await store.db.exec('CREATE TABLE broken (id text PRIMARY KEY)');
    const file = writeConfig('broken.yaml', `  broken:\n    projection: row\n    legacy: { table: no_such_table }\n`);
    const r = await cli(['--config', file]);
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/orders: run \d+, WITHIN TOLERANCE/);
    expect(r.err.match(/broken: /g)).toHaveLength(1);
    expect(r.err).toMatch(/no_such_table/);
    const [failed] = await listRuns(store.db, { entity: 'broken', limit: 1 });
    expect(failed).toMatchObject({ status: 'failed' });
    expect(failed!.error).toMatch(/no_such_table/);
  }, 30_000);

  it('--repair --apply exits by the repair, not the verdict it repaired; --repair --run N without --entity repairs the entity of run N', async () => {
    const file = writeConfig('two.yaml', `  order_items:\n    projection: of:orders\n    reconcile: { key: [order_id, sku] }\n`);
    await legacy.query(`UPDATE orders SET status = 'PAID' WHERE id = ?`, [id(7)]);
    const repaired = await cli(['--config', file, '--repair', '--apply']);
    expect(repaired.out).toMatch(/orders: run \d+, OVER TOLERANCE/);
    expect(repaired.out).toMatch(/repair of run \d+ \(orders\): 1 event\(s\) appended, 0 already there/);
    expect(repaired.out).toMatch(/repair of run \d+ \(order_items\): nothing to repair/);
    expect(repaired.err).toBe('');
    expect(repaired.code).toBe(0);

    await legacy.query(`UPDATE orders SET status = 'CANCELLED' WHERE id = ?`, [id(8)]);
    const drift = JSON.parse((await cli(['--config', file, '--entity', 'orders', '--json'])).out) as { runId: number };
    const dry = await cli(['--config', file, '--repair', '--run', String(drift.runId)]);
    expect(dry.err).toBe('');
    expect(dry.out).toMatch(new RegExp(`repair of run ${drift.runId} \\(orders\\), DRY RUN: 1 corrective event\\(s\\) would be appended`));
    expect(dry.code).toBe(0);
    expect((await cli(['--config', file, '--repair', '--run', String(drift.runId), '--entity', 'order_items'])).code).toBe(2);
  }, 30_000);
});

describe('queued runs', () => {
  it('a queued run whose sidecar stopped before starting it is failed by the next claim of its entity', async () => {
    const { rows } = await store.db.query<{ run_id: string }>(
      `INSERT INTO strangler_reconcile_runs (entity, status, trigger, config_hash, encoding_version, owner, heartbeat_at)
       VALUES ('orders', 'queued', 'admin:ops', '', 0, 'gone:1', now() - interval '10 minutes') RETURNING run_id::text`,
    );
    const r = await cli(['--config', writeConfig('queued.yaml', ''), '--entity', 'orders']);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/^orders: run \d+, /m);
    expect(await getRun(store.db, Number(rows[0]!.run_id))).toMatchObject({
      status: 'failed',
      error: 'abandoned before it started: its sidecar stopped',
    });
  });
});

describe('a table compared with itself', () => {
  it('is refused with the reason (the read model resolves to the legacy table), and the run is listed failed', async () => {
    const same = await createPgTestDb('sametable');
    const a = await openEventStore({ url: same.url, migrate: true, poolSize: 2 });
    const b = await connect({ url: same.url, max: 2 });
    try {
      await b.exec(readFileSync(path.join(ROOT, 'examples/legacy-orders/schema/postgres.sql'), 'utf8'));
      await b.query(`INSERT INTO orders VALUES ('ord_1', 'c', 'CREATED', 1, now(), now())`);
      const reconciler = createReconciler({
        config: configSchema.parse({
          legacy: { upstream: 'http://127.0.0.1:3000' },
          entities: { orders: { projection: 'row', reconcile: { columns: ['id', 'customer_id', 'status'] } } },
        }),
        legacy: b,
        store: a.db,
        projections: [],
        logger: silentLogger(),
      });
      const [result] = await reconciler.run({ entity: 'orders' });
      expect(result && 'error' in result ? result.error.message : 'no error').toMatch(
        /the legacy table orders and the read model orders are the same table/,
      );
      const [run] = await listRuns(a.db, { entity: 'orders' });
      expect(run).toMatchObject({ status: 'failed' });
    } finally {
      await b.close();
      await a.close();
      await same.drop();
    }
  }, 30_000);
});

describe('admin API: early failures, body limits', () => {
  const tokens = [{ name: 'ops', role: 'operator' as const, secret: new Secret('op-token') }];
  let server: http.Server;
  let base: string;
  let metrics: ReturnType<typeof createMetrics>;
  let unreachable: ReturnType<typeof createMysqlExecutor>;

  beforeEach(async () => {
    metrics = createMetrics(new Registry());
    // Nothing listens on port 1: every legacy statement fails at once with ECONNREFUSED.
    unreachable = createMysqlExecutor({ url: 'mysql://root@127.0.0.1:1/legacy', max: 1 });
    const reconciler = createReconciler({
      config: configSchema.parse({
        legacy: { upstream: 'http://127.0.0.1:3000' },
        entities: { orders: { projection: 'row', reconcile: { columns: ['id', 'status'] } } },
      }),
      legacy: unreachable,
      store: store.db,
      projections: [{ entity: 'orders', module }],
      logger: silentLogger(),
      onError: (entity) => metrics.reconcileFailures.inc({ entity }),
    });
    const scheduler = createReconcileScheduler({ expression: '0 0 1 1 *', reconciler, logger: silentLogger() });
    server = createAdminServer({
      registry: metrics.registry,
      logger: silentLogger(),
      readiness: { ready: () => true, details: async () => ({}) },
      routes: [
        createReconciliationRoutes({ store: store.db, scheduler, entities: ['orders'], tokens, logger: silentLogger(), owner: 'test' }),
      ],
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await unreachable.close();
  });

  const post = (p: string, body: string) =>
    fetch(base + p, { method: 'POST', headers: { authorization: 'Bearer op-token', 'content-type': 'application/json' }, body });

  it('a run accepted while the legacy database is unreachable is listed as failed with its error, in the API, the CLI and the metrics', async () => {
    const res = await post('/admin/reconciliations', '{}');
    expect(res.status).toBe(202);
    const { runs } = (await res.json()) as { runs: { runId: number; entity: string; url: string }[] };
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ entity: 'orders', url: `/admin/reconciliations/${runs[0]!.runId}` });
    await until(async () => (await getRun(store.db, runs[0]!.runId))?.status === 'failed', 'the run to be recorded failed', 20_000);
    const listed = (await (
      await fetch(`${base}/admin/reconciliations?entity=orders`, { headers: { authorization: 'Bearer op-token' } })
    ).json()) as {
      runs: { runId: number; status: string; error: string }[];
    };
    expect(listed.runs.find((r) => r.runId === runs[0]!.runId)).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/ECONNREFUSED/),
    });
    expect(await metrics.registry.metrics()).toMatch(/strangler_reconciliation_failures_total\{entity="orders"\} 1/);

    const remote = await cli([], { STRANGLER_ADMIN_URL: base, STRANGLER_ADMIN_TOKEN: 'op-token' });
    expect(remote.code).toBe(2);
    expect(remote.err).toMatch(/^orders: run \d+ failed: .*ECONNREFUSED/m);
  }, 30_000);

  it('a body over the limit is answered 413 body_too_large', async () => {
    const res = await post('/admin/reconciliations', JSON.stringify({ entity: 'x'.repeat(70 * 1024) }));
    expect(res.status).toBe(413);
    expect(((await res.json()) as { title: string }).title).toBe('body_too_large');
  });
});

describe('a verdict never hides a paused or lagging projection', () => {
  it('behind reconciliation.maxPendingLagMs: inconclusive, with the reason', async () => {
    await store.append(`orders-${id(20)}`, [{ type: 'OrderPaid', data: {} }]);
    await new Promise((r) => setTimeout(r, 20));
    const file = writeConfig('lag.yaml', '');
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace('reconciliation: { graceMs: 0 }', 'reconciliation: { graceMs: 0, maxPendingLagMs: 5 }'),
    );
    const r = await cli(['--config', file, '--entity', 'orders']);
    expect(r.out).toMatch(/orders: run \d+, INCONCLUSIVE/);
    expect(r.out).toMatch(/inconclusive: projection orders is \d+ s behind \(\d+ events\), more than reconciliation.maxPendingLagMs 5 ms/);
    expect(r.code).toBe(3);
  }, 30_000);

  it('paused: inconclusive (exit 3), in the report, the metrics and the page', async () => {
    await store.append(`orders-${id(21)}`, [{ type: 'OrderCreated', data: { broken: true } }]);
    const registry = createUpcasterRegistry(orderUpcasters);
    const runner = createProjectionRunner({
      store,
      module,
      owner: 'test',
      logger: silentLogger(),
      upcast: (e) => registry.upcast(e),
      pollMs: 5,
      maxRetries: 0,
      retryBackoffMs: 1,
    });
    runner.start();
    try {
      await until(async () => (await readProjection(store.db, 'orders'))?.status === 'paused', 'the projection to pause', 20_000);
    } finally {
      await runner.stop();
    }
    const file = writeConfig('paused.yaml', '');
    const r = await cli(['--config', file, '--entity', 'orders', '--json']);
    expect(r.code).toBe(3);
    const { report } = JSON.parse(r.out) as { report: { runId: number; verdict: string; verdictReason: string } };
    expect(report.verdict).toBe('inconclusive');
    expect(report.verdictReason).toMatch(/projection orders is paused on event .*resume it \(strangler projections resume orders\)/);

    const metrics = createMetrics(new Registry());
    recordReportMetrics(metrics, (await getRun(store.db, report.runId))!.report!);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/strangler_reconciliation_verdict\{entity="orders",verdict="inconclusive"\} 1/);
    expect(text).toMatch(/strangler_reconciliation_verdict\{entity="orders",verdict="within_tolerance"\} 0/);
    const page = renderReportHtml((await getRun(store.db, report.runId))!);
    expect(page).toContain('inconclusive');
    expect(page).toContain('projection orders is paused');
  }, 30_000);
});
