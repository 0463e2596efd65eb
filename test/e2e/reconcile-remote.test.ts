/**
 * `strangler reconcile` as a client of a running sidecar (issue 10, item 6), end to end: the
 * sample legacy service on real MariaDB / PostgreSQL, the sidecar in front of it with a
 * PostgreSQL event store, orders created through the sidecar, and the CLI talking to the
 * admin API only (STRANGLER_ADMIN_URL / STRANGLER_ADMIN_TOKEN, no --config). A row changed
 * behind the service's back is found, repaired through the log, and the orders projection
 * keeps running. Each test gets its own legacy service, event store and sidecar: the drift one
 * test leaves is never seen by the other.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { readProjection } from '../../src/projections/runner/projectionRow.ts';
import type { Sidecar } from '../../src/sidecar.ts';
import { createPgTestDb, type TestDb } from '../harness/db.ts';
import { send } from './fixtures/http.ts';
import { closeAll, sidecarConfig, startInProcessSidecar, startLegacy, tempDir, type Legacy, type LegacyBackend } from './fixtures/stack.ts';
import { until } from './fixtures/wait.ts';

const TOKEN = 'e2e-operator-token';

interface Outcome {
  entity: string;
  runId: number;
  error: string | null;
  report: { verdict: string; legacyRows: number; differing: number } | null;
  repair?: { counts: { planned: number; appended: number } } | null;
}

for (const backend of ['mariadb', 'postgres'] as const satisfies readonly LegacyBackend[]) {
  describe(`strangler reconcile against a running sidecar, legacy on ${backend === 'mariadb' ? 'MariaDB' : 'PostgreSQL'}`, () => {
    let legacy: Legacy | undefined;
    let eventStoreDb: TestDb | undefined;
    let spoolDir: Awaited<ReturnType<typeof tempDir>> | undefined;
    let sidecar: Sidecar | undefined;
    const orderIds: string[] = [];

    beforeEach(async () => {
      orderIds.length = 0;
      legacy = await startLegacy(backend);
      eventStoreDb = await createPgTestDb('e2e_recon');
      spoolDir = await tempDir('strangler-e2e-recon-');
      sidecar = await startInProcessSidecar(
        sidecarConfig({
          upstream: legacy.url,
          eventStoreUrl: eventStoreDb.url,
          spoolDir: spoolDir.path,
          env: { STRANGLER_LEGACY_DB_URL: legacy.dbUrl, STRANGLER_ADMIN_TOKEN: TOKEN },
        }),
      );
      for (let n = 0; n < 12; n++) {
        const created = await send(sidecar.publicUrl, {
          method: 'POST',
          path: '/orders',
          body: { customerId: `cust-${n}`, items: [{ sku: 'SKU-1', quantity: 1 + (n % 3), price: '9.99' }] },
          requestId: `recon-${backend}-${n}`,
        });
        expect(created.status).toBe(201);
        orderIds.push((created.json as { id: string }).id);
      }
      const added = await send(sidecar.publicUrl, {
        method: 'POST',
        path: `/orders/${orderIds[1]}/items`,
        body: { sku: 'SKU-2', quantity: 2, price: '1.50' },
        requestId: `recon-${backend}-item`,
      });
      expect(added.status).toBeLessThan(300);
      await caughtUp();
    }, 120_000);

    afterEach(async () => {
      await closeAll(
        async () => sidecar?.stop(),
        async () => legacy?.close(),
        async () => eventStoreDb?.drop(),
        async () => spoolDir?.remove(),
      );
    });

    async function caughtUp(): Promise<void> {
      const store = sidecar!.store;
      const head = await store.headPosition();
      await until(
        async () => ((await readProjection(store.db, 'orders'))?.checkpoint.position ?? 0) >= head,
        'the orders projection to catch up',
        30_000,
      );
    }

    async function cli(
      args: string[],
      env: Record<string, string> = { STRANGLER_ADMIN_URL: sidecar!.adminUrl, STRANGLER_ADMIN_TOKEN: TOKEN },
    ) {
      const out: string[] = [];
      const err: string[] = [];
      const code = await main(['reconcile', ...args], { out: (l) => out.push(l), err: (l) => err.push(l), env });
      return { code, out: out.join('\n'), err: err.join('\n') };
    }

    it('starts a run through the admin API, waits for it, prints the report of every entity and exits 0', async () => {
      const r = await cli([]);
      expect(r.err).toBe('');
      expect(r.out).toMatch(/^started run \d+ \(orders\), run \d+ \(order_items\) on http:\/\/127\.0\.0\.1:\d+$/m);
      expect(r.out).toMatch(/^orders: run \d+, WITHIN TOLERANCE: mismatch rate 0 %/m);
      expect(r.out).toMatch(/^order_items: run \d+, WITHIN TOLERANCE: mismatch rate 0 %/m);
      expect(r.out).toContain('rows: legacy 12, read model 12, matched 12');
      expect(r.code).toBe(0);

      const noToken = await cli([], { STRANGLER_ADMIN_URL: sidecar!.adminUrl });
      expect(noToken.code).toBe(2);
      expect(noToken.err).toMatch(/401 .*--token or STRANGLER_ADMIN_TOKEN/);
    }, 60_000);

    it("repairs a row changed behind the service's back: exit 0, the orders projection keeps running, the next run is within tolerance", async () => {
      const db = legacy!.db;
      const p = (i: number) => (db.dialect === 'mysql' ? '?' : `$${i}`);
      await db.query(`UPDATE orders SET status = 'PAID', updated_at = ${p(1)} WHERE id = ${p(2)}`, [
        '2030-01-02 03:04:05.123456',
        orderIds[3],
      ]);

      const repaired = await cli(['--repair', '--apply']);
      expect(repaired.err).toBe('');
      expect(repaired.out).toMatch(/^orders: run \d+, OVER TOLERANCE/m);
      expect(repaired.out).toMatch(/^repair of run \d+ \(orders\): 1 event\(s\) appended, 0 already there$/m);
      expect(repaired.out).toMatch(/^repair of run \d+ \(order_items\): nothing to repair/m);
      expect(repaired.code).toBe(0);

      await caughtUp();
      const projection = await readProjection(sidecar!.store.db, 'orders');
      expect(projection).toMatchObject({ status: 'running', failure: null });
      const { rows } = await sidecar!.store.db.query<{ status: string; updated_at: string }>(
        `SELECT status, to_char(updated_at, 'YYYY-MM-DD HH24:MI:SS.US') AS updated_at FROM orders WHERE id = $1`,
        [orderIds[3]],
      );
      expect(rows[0]).toEqual({ status: 'PAID', updated_at: '2030-01-02 03:04:05.123456' });

      const after = await cli(['--json']);
      expect(after.code).toBe(0);
      const outcomes = JSON.parse(after.out) as Outcome[];
      expect(outcomes.map((o) => [o.entity, o.error, o.report?.verdict])).toEqual([
        ['orders', null, 'within_tolerance'],
        ['order_items', null, 'within_tolerance'],
      ]);

      // Repair from a given run: the entity is the run's; a dry run lists, and exits 0.
      await db.query(`UPDATE orders SET customer_id = 'moved' WHERE id = ${p(1)}`, [orderIds[5]]);
      const drift = await cli(['--entity', 'orders', '--json']);
      expect(drift.code).toBe(1);
      const { runId } = JSON.parse(drift.out) as Outcome;
      const dry = await cli(['--repair', '--run', String(runId), '--json']);
      expect(dry.code).toBe(0);
      expect(JSON.parse(dry.out)).toMatchObject({ entity: 'orders', runId, repair: { apply: false, counts: { planned: 1, appended: 0 } } });
    }, 90_000);
  });
}
