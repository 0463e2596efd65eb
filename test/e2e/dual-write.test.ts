/**
 * Dual-write under concurrency, end to end: clients → sidecar → the sample legacy service
 * on real MariaDB / PostgreSQL, events into a real PostgreSQL event store.
 *
 * What it pins (issue 3, "Must show"):
 * - every command legacy answered 2xx has exactly one event, found by its X-Request-Id;
 *   no command legacy refused has any;
 * - per order, the events are in the order legacy applied the commands. Legacy's own
 *   clock is the witness: every command runs under the order's row lock and stamps
 *   `updatedAt`, which legacy returns; along each stream's versions those stamps must
 *   strictly increase (a DELETE answers 204 without a body: it must be its stream's last event).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProjections } from '../../src/projections/registry.ts';
import { createReconciler } from '../../src/reconcile/reconciler.ts';
import type { Sidecar } from '../../src/sidecar.ts';
import { createPgTestDb, type TestDb } from '../harness/db.ts';
import { capturedEvents, duplicates, type CapturedEvent } from './fixtures/events.ts';
import { is2xx, orderOf, readyz, send, type Answer } from './fixtures/http.ts';
import { startLatencyProxy, type LatencyProxy } from './fixtures/latencyProxy.ts';
import { EVENT_TYPE, createOrderCommand, mixedPlan, runClients, type PlannedCommand } from './fixtures/plan.ts';
import { seededRandom } from '../helpers/seed.ts';
import {
  closeAll,
  sidecarConfig,
  startInProcessSidecar,
  startLegacy,
  strictlyIncreasing,
  tempDir,
  type Legacy,
  type LegacyBackend,
} from './fixtures/stack.ts';
import { until } from './fixtures/wait.ts';

const ORDERS = 50;
const COMMANDS = 1_000;
const CLIENTS = 20;
const DELETES = 10;

interface Outcome {
  cmd: PlannedCommand;
  requestId: string;
  result: Answer;
}

for (const backend of ['mariadb', 'postgres'] as const satisfies readonly LegacyBackend[]) {
  describe(`dual-write with legacy on ${backend === 'mariadb' ? 'MariaDB' : 'PostgreSQL'}`, () => {
    let legacy: Legacy | undefined;
    let eventStoreDb: TestDb | undefined;
    let network: LatencyProxy | undefined;
    let spoolDir: Awaited<ReturnType<typeof tempDir>> | undefined;
    let sidecar: Sidecar | undefined;
    let outcomes: Outcome[] = [];
    let elapsedMs = 0;

    beforeAll(async () => {
      legacy = await startLegacy(backend, { clock: strictlyIncreasing() });
      eventStoreDb = await createPgTestDb('e2e_events');
      // 0.2-4 ms per packet between sidecar and event store: appends on different
      // connections overtake each other, as on a real network.
      network = await startLatencyProxy(eventStoreDb.url, {
        minMs: 0.2,
        maxMs: 4,
        random: seededRandom(`dual-write network delays (${backend})`),
      });
      spoolDir = await tempDir('strangler-e2e-spool-');
      sidecar = await startInProcessSidecar(sidecarConfig({ upstream: legacy.url, eventStoreUrl: network.url, spoolDir: spoolDir.path }));

      // The traffic both tests read (and neither changes): creates, then mixed commands.
      const sc = sidecar;
      const tag = `dw-${backend}`;
      const sendVia = (cmd: PlannedCommand, requestId: string) => send(sc.publicUrl, { ...cmd, requestId });

      const creates = await runClients(
        Array.from({ length: ORDERS }, (_, n) => createOrderCommand(n)),
        CLIENTS,
        `${tag}-create`,
        sendVia,
      );
      expect(creates.map((o) => o.result.status)).toEqual(Array(ORDERS).fill(201));
      for (const o of creates) o.cmd = { ...o.cmd, orderId: orderOf(o.result.json).id };
      const orderIds = creates.map((o) => o.cmd.orderId);

      const started = performance.now();
      const commands = await runClients(
        mixedPlan(orderIds, COMMANDS, seededRandom(`dual-write traffic (${backend})`).seed, DELETES),
        CLIENTS,
        tag,
        sendVia,
      );
      elapsedMs = performance.now() - started;

      outcomes = [...creates, ...commands];
      // Appends that waited too long went to the spool; the log is complete once it is empty.
      await until(async () => (await readyz(sc.adminUrl)).depth === 0, 'the spool to drain', 30_000);
    }, 300_000);

    afterAll(async () => {
      await closeAll(
        async () => sidecar?.stop(),
        async () => network?.close(),
        async () => legacy?.close(),
        async () => eventStoreDb?.drop(),
        async () => spoolDir?.remove(),
      );
    });

    it(`records one event per 2xx command, none for refused ones, in legacy's order per order (${ORDERS} orders, ${COMMANDS} commands, ${CLIENTS} clients)`, async () => {
      const sc = sidecar!;
      const accepted = outcomes.filter((o) => is2xx(o.result.status));
      const refused = outcomes.filter((o) => !is2xx(o.result.status));
      const events = await capturedEvents(sc.store.db);
      report(backend, outcomes, events, elapsedMs);

      // The traffic really mixed accepted and refused commands of every kind.
      const statuses = new Set(outcomes.map((o) => o.result.status));
      for (const s of [200, 201, 204, 400, 404, 409]) expect(statuses, `some command answered ${s}`).toContain(s);
      expect(
        refused.every((o) => o.result.status >= 400 && o.result.status < 500),
        'only 4xx refusals, no 5xx',
      ).toBe(true);

      // Exactly one event per accepted command, none for refused ones.
      expect(events.length).toBe(accepted.length);
      expect(duplicates(events.map((e) => e.eventId))).toEqual([]);
      expect(duplicates(events.map((e) => e.requestId))).toEqual([]);
      const byRequest = new Map(events.map((e) => [e.requestId, e]));
      for (const o of accepted) {
        const e = byRequest.get(o.requestId);
        expect(e, `event for ${o.requestId} (${o.cmd.method} ${o.cmd.path} → ${o.result.status})`).toBeDefined();
        expect(e!.streamId).toBe(`orders-${o.cmd.orderId}`);
        expect(e!.type).toBe(EVENT_TYPE[o.cmd.kind]);
      }
      for (const o of refused) expect(byRequest.has(o.requestId), `no event for refused ${o.requestId} (${o.result.status})`).toBe(false);

      // Per order, events in the order legacy applied the commands.
      const outcomeOf = new Map(accepted.map((o) => [o.requestId, o]));
      const streams = new Map<string, CapturedEvent[]>();
      for (const e of events) streams.set(e.streamId, [...(streams.get(e.streamId) ?? []), e]);
      expect(streams.size).toBe(ORDERS);
      for (const [streamId, stream] of streams) {
        expect(
          stream.map((e) => e.version),
          `${streamId} versions`,
        ).toEqual(stream.map((_, i) => i + 1));
        expect(stream[0]!.type, `${streamId} starts with its creation`).toBe('OrderCreated');
        let previous: { micros: bigint; requestId: string } | undefined;
        stream.forEach((e, i) => {
          const o = outcomeOf.get(e.requestId!)!;
          if (o.cmd.kind === 'delete') {
            expect(i, `${streamId}: the delete (${e.requestId}) is the last event`).toBe(stream.length - 1);
            return;
          }
          const { id, updatedAtMicros } = orderOf(o.result.json);
          expect(`orders-${id}`).toBe(streamId);
          if (previous) {
            expect(
              updatedAtMicros > previous.micros,
              `${streamId} v${e.version} (${e.requestId}) was applied after v${e.version - 1} (${previous.requestId})`,
            ).toBe(true);
          }
          previous = { micros: updatedAtMicros, requestId: e.requestId! };
        });
      }

      // Nothing accepted is missing at the tail either: each surviving order's last event
      // carries the updatedAt legacy holds now.
      for (const [streamId, stream] of streams) {
        const last = outcomeOf.get(stream.at(-1)!.requestId!)!;
        const res = await fetch(`${legacy!.url}/orders/${streamId.slice('orders-'.length)}`);
        const now: unknown = await res.json();
        if (last.cmd.kind === 'delete') {
          expect(res.status).toBe(404);
          continue;
        }
        expect(res.status).toBe(200);
        expect(orderOf(now).updatedAtMicros).toBe(orderOf(last.result.json).updatedAtMicros);
      }
    });

    it('the read model the orders projection built from those events reconciles with legacy: orders and order_items, 0 mismatches', async () => {
      const sc = sidecar!;
      const head = await sc.store.headPosition();
      await until(
        async () => {
          const { rows } = await sc.store.db.query<{ pos: string; status: string }>(
            'SELECT checkpoint_pos::text AS pos, status FROM strangler_projections WHERE name = $1',
            ['orders'],
          );
          if (rows[0]?.status === 'paused') throw new Error('the orders projection paused');
          return Number(rows[0]?.pos ?? 0) >= head;
        },
        'the orders projection to catch up',
        30_000,
      );
      const base = sidecarConfig({ upstream: legacy!.url, eventStoreUrl: eventStoreDb!.url, spoolDir: spoolDir!.path });
      // The sample spec's entities: orders, and order_items (projection: of:orders, key [order_id, sku]).
      expect(Object.keys(base.entities)).toEqual(['orders', 'order_items']);
      const reconciler = createReconciler({
        config: { entities: base.entities, reconciliation: { ...base.reconciliation, graceMs: 0 } },
        legacy: legacy!.db,
        store: sc.store.db,
        projections: await loadProjections(base.entities),
      });
      const results = await reconciler.run({ trigger: 'e2e' });
      for (const r of results) {
        if ('error' in r) throw r.error;
        if (r.outcome.kind !== 'finished') throw new Error(r.outcome.reason);
        const rep = r.outcome.report;
        console.log(
          `[reconcile ${backend}] ${rep.entity}: legacy ${rep.legacyRows}, read model ${rep.readModelRows}, matched ${rep.matched}, samples ${JSON.stringify(rep.samples.slice(0, 3))}`,
        );
        expect(rep.legacyRows, `${rep.entity} has rows`).toBeGreaterThan(0);
        expect({
          entity: rep.entity,
          missing: rep.missingInProjection,
          extra: rep.extraInProjection,
          differing: rep.differing,
          pending: rep.pending,
        }).toEqual({
          entity: rep.entity,
          missing: 0,
          extra: 0,
          differing: 0,
          pending: 0,
        });
        expect(rep.tableSha256.legacy).toBe(rep.tableSha256.readModel);
      }
    });
  });
}

function report(backend: string, outcomes: Outcome[], events: CapturedEvent[], elapsedMs: number): void {
  const byStatus: Record<string, number> = {};
  for (const o of outcomes) byStatus[o.result.status] = (byStatus[o.result.status] ?? 0) + 1;
  const slowest = Math.max(...outcomes.map((o) => o.result.ms));
  console.log(
    `[dual-write ${backend}] ${outcomes.length} commands (${COMMANDS} mixed in ${Math.round(elapsedMs)} ms), statuses ${JSON.stringify(byStatus)}, ` +
      `${events.length} events, slowest answer ${Math.round(slowest)} ms`,
  );
}
