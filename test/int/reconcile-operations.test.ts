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
import { createMysqlExecutor } from '../../src/db/mysqlExecutor.ts';
import { openEventStore, type EventStore } from '../../src/eventstore/index.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { createMetrics } from '../../src/metrics/metrics.ts';
import { createOrdersProjection } from '../../examples/legacy-orders/projections/orders/index.ts';
import { createReconciler } from '../../src/reconcile/reconciler.ts';
import { recordReportMetrics } from '../../src/reconcile/report/reportMetrics.ts';
import { repairRun } from '../../src/reconcile/repair/repair.ts';
import { createReconcileScheduler } from '../../src/reconcile/schedule.ts';
import { getRun, type RunSummary } from '../../src/reconcile/store/runs.ts';
import { until } from '../e2e/fixtures/wait.ts';
import { createMysqlTestDb, createPgTestDb, type TestDb } from '../harness/db.ts';

// The ways ops run and read reconciliation: the CLI (exit codes), the admin API (tokens,
// 400s, JSON and the HTML page), the schedule, and the metrics. Each test seeds databases of
// its own (500 rows, cheap): the drift one plants is never seen by another.
const ROOT = path.resolve(import.meta.dirname, '../..');
const ROWS = 500;
let legacyDb: TestDb;
let storeDb: TestDb;
let legacy: ReturnType<typeof createMysqlExecutor>;
let store: EventStore;
let configFile: string;
let configDir: string | undefined;
const module = createOrdersProjection();
const id = (n: number) => `ord_${n.toString(16).padStart(16, '0')}`;

beforeEach(async () => {
  legacyDb = await createMysqlTestDb('reconops');
  storeDb = await createPgTestDb('reconops');
  legacy = createMysqlExecutor({ url: legacyDb.url, max: 2 });
  store = await openEventStore({ url: storeDb.url, migrate: true, poolSize: 4 });
  await legacy.exec(readFileSync(path.join(ROOT, 'examples/legacy-orders/schema/mysql.sql'), 'utf8'));
  await store.db.exec(module.ddl({ orders: 'orders', order_items: 'order_items', order_tombstones: 'order_tombstones' }));
  const rows = Array.from({ length: ROWS }, (_, i) => [
    id(i + 1),
    `cust-${i % 7}`,
    'CREATED',
    `${i}.50`,
    '2026-01-02 03:04:05.123456',
    '2026-01-02 03:04:05.123456',
  ]);
  await legacy.query('INSERT INTO orders (id, customer_id, status, total_amount, created_at, updated_at) VALUES ?', [rows]);
  await store.db.query(
    `INSERT INTO orders SELECT r.id, r.c, r.s, r.t::numeric, r.ca::timestamp, r.ua::timestamp, 0 FROM json_to_recordset($1::json) AS r(id text, c text, s text, t text, ca text, ua text)`,
    [JSON.stringify(rows.map(([i, c, s, t, ca, ua]) => ({ i, c, s, t, ca, ua })).map((r) => ({ ...r, id: r.i })))],
  );
  const dir = (configDir = mkdtempSync(path.join(os.tmpdir(), 'strangler-reconops-')));
  configFile = path.join(dir, 'strangler.yaml');
  writeFileSync(
    configFile,
    `legacy:
  upstream: http://127.0.0.1:3000
  database: { url: "${legacyDb.url}" }
eventStore: { url: "${storeDb.url}" }
reconciliation: { graceMs: 0 }
entities:
  orders:
    stream: "orders-{id}"
    projection: ${path.join(ROOT, 'examples/legacy-orders/projections/orders.ts')}
    reconcile: { columns: [id, customer_id, status, total_amount, created_at] }
`,
  );
}, 60_000);

afterEach(async () => {
  await legacy?.close();
  await store?.close();
  await legacyDb?.drop();
  await storeDb?.drop();
  if (configDir) rmSync(configDir, { recursive: true, force: true });
});

async function cli(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['reconcile', '--config', configFile, ...args], { out: (l) => out.push(l), err: (l) => err.push(l), env: {} });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('strangler reconcile', () => {
  it('exit 0 within tolerance, 1 over it; --repair is a dry run until --apply; 2 on bad usage', async () => {
    const clean = await cli();
    expect(clean.err).toBe('');
    expect(clean.code).toBe(0);
    expect(clean.out).toMatch(/orders: run \d+, WITHIN TOLERANCE: mismatch rate 0 %/);
    expect(clean.out).toContain(`rows: legacy ${ROWS}, read model ${ROWS}, matched ${ROWS}`);

    await legacy.query(`UPDATE orders SET status = 'PAID' WHERE id = ?`, [id(42)]);
    const drift = await cli('--json');
    expect(drift.code).toBe(1);
    const { report } = JSON.parse(drift.out) as {
      report: { differing: number; differingColumns: Record<string, number>; samples: { key: string[] }[]; runId: number };
    };
    expect(report).toMatchObject({ differing: 1, differingColumns: { status: 1 } });
    expect(report.samples[0]!.key).toEqual([id(42)]);

    const dry = await cli('--repair', '--run', String(report.runId));
    expect(dry.code).toBe(0);
    expect(dry.out).toMatch(/DRY RUN: 1 corrective event\(s\) would be appended/);
    expect(await store.headPosition()).toBe(0);
    const applied = await cli('--repair', '--apply', '--run', String(report.runId));
    expect(applied.out).toMatch(/1 event\(s\) appended/);
    expect(applied.code).toBe(0);
    const events = await store.readStream(`orders-${id(42)}`);
    expect(events.map((e) => [e.type, (e.data as Record<string, unknown>).status])).toEqual([['StranglerRowRepaired', 'PAID']]);

    expect((await cli('--entity', 'nope')).code).toBe(2);
    expect((await cli('--apply')).err).toMatch(/--apply goes with --repair/);
    expect((await cli('--repair', '--run', 'x')).code).toBe(2);
  }, 60_000);
});

describe('admin API, schedule and metrics', () => {
  const tokens = [
    { name: 'ops', role: 'operator' as const, secret: new Secret('op-token') },
    { name: 'watch', role: 'viewer' as const, secret: new Secret('view-token') },
  ];
  const config = configSchema.parse({
    legacy: { upstream: 'http://127.0.0.1:3000' },
    reconciliation: { graceMs: 0 },
    entities: { orders: { projection: 'row', reconcile: { columns: ['id', 'customer_id', 'status', 'total_amount', 'created_at'] } } },
  });
  let server: http.Server;
  let base: string;
  let metrics: ReturnType<typeof createMetrics>;
  const reconciler = () =>
    createReconciler({
      config,
      legacy,
      store: store.db,
      projections: [{ entity: 'orders', module }],
      logger: silentLogger(),
      onReport: (r) => recordReportMetrics(metrics, r),
    });

  beforeEach(async () => {
    metrics = createMetrics(new Registry());
    const shared = reconciler();
    const scheduler = createReconcileScheduler({ expression: '0 0 1 1 *', reconciler: shared, logger: silentLogger() });
    const repair = async (run: RunSummary, apply: boolean) =>
      repairRun({ plan: await shared.plan(run.entity), run, legacy, store: store.db, apply });
    server = createAdminServer({
      registry: metrics.registry,
      logger: silentLogger(),
      readiness: { ready: () => true, details: async () => ({}) },
      routes: [
        createReconciliationRoutes({
          store: store.db,
          scheduler,
          entities: ['orders'],
          tokens,
          logger: silentLogger(),
          owner: 'test',
          repair,
        }),
      ],
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(() => new Promise<void>((r) => server.close(() => r())));

  const call = async (method: string, p: string, opts: { token?: string; body?: string; accept?: string } = {}) => {
    const res = await fetch(base + p, {
      method,
      headers: {
        ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
        ...(opts.accept ? { accept: opts.accept } : {}),
        'content-type': 'application/json',
      },
      ...(opts.body !== undefined ? { body: opts.body } : {}),
    });
    const text = await res.text();
    return {
      status: res.status,
      type: res.headers.get('content-type') ?? '',
      text,
      json: () => JSON.parse(text) as Record<string, unknown>,
    };
  };

  it('needs a token; viewers read, operators start; bad requests get 400 with the reason', async () => {
    expect((await call('GET', '/admin/reconciliations')).status).toBe(401);
    expect((await call('GET', '/admin/reconciliations', { token: 'wrong' })).status).toBe(401);
    const forbidden = await call('POST', '/admin/reconciliations', { token: 'view-token', body: '{}' });
    expect(forbidden.status).toBe(403);
    expect(forbidden.json().detail).toMatch(/needs an operator token/);
    const badJson = await call('POST', '/admin/reconciliations', { token: 'op-token', body: '{"entity":' });
    expect(badJson.status).toBe(400);
    expect(badJson.json().detail).toMatch(/not JSON/);
    const badEntity = await call('POST', '/admin/reconciliations', { token: 'op-token', body: '{"entity":"customers"}' });
    expect(badEntity.status).toBe(400);
    expect(badEntity.json().detail).toMatch(/"entity" must be one of orders; got "customers"/);
    expect((await call('POST', '/admin/reconciliations', { token: 'op-token', body: '{"entity":"orders","x":1}' })).json().detail).toMatch(
      /Unknown field\(s\) x/,
    );
    expect((await call('GET', '/admin/reconciliations/abc', { token: 'view-token' })).status).toBe(400);
    expect((await call('GET', '/admin/reconciliations/999999', { token: 'view-token' })).status).toBe(404);
    expect((await call('GET', '/admin/reconciliations?limit=0', { token: 'view-token' })).status).toBe(400);
  });

  it('POST starts a run; the list, the JSON report, the HTML page and the metrics show it', async () => {
    await legacy.query(`UPDATE orders SET customer_id = '<b>x&y</b>' WHERE id = ?`, [id(7)]);
    const started = await call('POST', '/admin/reconciliations', { token: 'op-token', body: '{"entity":"orders"}' });
    expect(started.status).toBe(202);
    let runs: { runId: number; status: string; trigger: string; mismatchRate: number | null }[] = [];
    await until(
      async () => {
        runs = (await call('GET', '/admin/reconciliations?entity=orders', { token: 'view-token' })).json().runs as typeof runs;
        return runs.length === 1 && runs[0]!.status === 'finished';
      },
      'the admin-started run to finish',
      30_000,
    );
    expect(runs[0]).toMatchObject({ trigger: 'admin:ops' });
    expect(runs[0]!.mismatchRate).toBeGreaterThan(0);

    const one = await call('GET', `/admin/reconciliations/${runs[0]!.runId}`, { token: 'view-token' });
    expect(one.type).toMatch(/application\/json/);
    const report = one.json().report as {
      differing: number;
      samples: { key: string[]; readModel: Record<string, string>; legacy: Record<string, string> }[];
    };
    expect(report.differing).toBe(1);
    expect(report.samples.find((s) => s.key[0] === id(7))!.legacy.customer_id).toBe('<b>x&y</b>');

    const page = await call('GET', `/admin/reconciliations/${runs[0]!.runId}`, { token: 'view-token', accept: 'text/html' });
    expect(page.type).toMatch(/text\/html/);
    expect(page.text).toContain('over tolerance');
    expect(page.text).toContain('&lt;b&gt;x&amp;y&lt;/b&gt;');
    expect(page.text).not.toContain('<b>x&y</b>');
    expect((await call('GET', '/admin/reconciliations?format=html', { token: 'view-token' })).text).toContain(
      `/admin/reconciliations/${runs[0]!.runId}?format=html`,
    );

    const text = await metrics.registry.metrics();
    expect(text).toMatch(/strangler_reconciliation_mismatch_rate\{entity="orders"\} 0\.00\d+/);
    expect(text).toMatch(/strangler_reconciliation_rows\{entity="orders",kind="legacy"\} 500/);
    expect(text).toMatch(/strangler_reconciliation_last_success_timestamp_seconds\{entity="orders"\} \d+/);
  }, 60_000);

  it('POST /admin/reconciliations/ID/repair plans (dry run) or appends the corrective events of a finished run', async () => {
    await legacy.query(`UPDATE orders SET status = 'CANCELLED' WHERE id = ?`, [id(11)]);
    const started = await call('POST', '/admin/reconciliations', { token: 'op-token', body: '{}' });
    expect(started.status).toBe(202);
    const [queued] = started.json().runs as { runId: number; entity: string; status: string }[];
    expect(queued).toMatchObject({ entity: 'orders', status: 'queued' });
    const runId = queued!.runId;
    await until(async () => (await getRun(store.db, runId))?.status === 'finished', 'the run to finish', 30_000);

    expect((await call('POST', `/admin/reconciliations/${runId}/repair`, { token: 'view-token', body: '{}' })).status).toBe(403);
    expect((await call('GET', `/admin/reconciliations/${runId}/repair`, { token: 'op-token' })).status).toBe(405);
    expect((await call('POST', `/admin/reconciliations/${runId}/repair`, { token: 'op-token', body: '{"apply":"yes"}' })).status).toBe(400);
    expect((await call('POST', `/admin/reconciliations/${runId}/repair`, { token: 'op-token', body: '{"entity":"x"}' })).status).toBe(400);
    expect((await call('POST', '/admin/reconciliations/999999/repair', { token: 'op-token', body: '{}' })).status).toBe(404);

    const dry = await call('POST', `/admin/reconciliations/${runId}/repair`, { token: 'op-token', body: '{}' });
    expect(dry.status).toBe(200);
    const plan = dry.json() as {
      apply: boolean;
      complete: boolean;
      counts: Record<string, number>;
      actions: { streamId: string; outcome: string }[];
    };
    expect(plan).toMatchObject({ apply: false, complete: true, counts: { appended: 0, alreadyThere: 0, skipped: 0 } });
    expect(plan.counts.planned).toBe(1);
    expect(plan.actions).toContainEqual(expect.objectContaining({ streamId: `orders-${id(11)}`, outcome: 'planned' }));

    const applied = (await call('POST', `/admin/reconciliations/${runId}/repair`, { token: 'op-token', body: '{"apply":true}' })).json();
    expect(applied).toMatchObject({ apply: true, complete: true, counts: { planned: plan.counts.planned, appended: plan.counts.planned } });
    const again = (await call('POST', `/admin/reconciliations/${runId}/repair`, { token: 'op-token', body: '{"apply":true}' })).json();
    expect(again).toMatchObject({ complete: true, counts: { appended: 0, alreadyThere: plan.counts.planned } });

    const { rows } = await store.db.query<{ run_id: string }>(
      `INSERT INTO strangler_reconcile_runs (entity, status, trigger, config_hash, encoding_version, error) VALUES ('orders', 'failed', 't', '', 0, 'boom') RETURNING run_id::text`,
    );
    const notFinished = await call('POST', `/admin/reconciliations/${rows[0]!.run_id}/repair`, { token: 'op-token', body: '{}' });
    expect(notFinished.status).toBe(409);
    expect(notFinished.json().detail).toMatch(/is failed \(boom\); repair works from a finished run/);
  }, 60_000);

  it('the schedule runs on its cron expression; a second start while one runs is refused; none after stop()', async () => {
    const scheduler = createReconcileScheduler({ expression: '* * * * * *', reconciler: reconciler(), logger: silentLogger() });
    const first = scheduler.trigger({ trigger: 'manual' });
    expect(first.accepted).toBe(true);
    expect(scheduler.trigger({ trigger: 'manual' })).toEqual({
      accepted: false,
      reason: 'a reconciliation run is already in progress in this sidecar',
    });
    if (first.accepted) await first.done;
    scheduler.start();
    try {
      await until(
        async () => {
          const { rows } = await store.db.query<{ n: string }>(
            `SELECT count(*)::text AS n FROM strangler_reconcile_runs WHERE trigger = 'schedule' AND status = 'finished'`,
          );
          return Number(rows[0]!.n) > 0;
        },
        'a scheduled run',
        20_000,
      );
    } finally {
      await scheduler.stop();
    }
    expect(scheduler.trigger({ trigger: 'late' })).toEqual({ accepted: false, reason: 'the sidecar is stopping' });
  }, 30_000);
});
