/**
 * Must-show of the read handlers: for every read route of the sample (examples/legacy-orders/
 * strangler.yaml: GET /orders/:id, a module; GET /orders, declarative), the read model's answer
 * equals legacy's, over 1,000 generated orders written through a sidecar (so the events are
 * captured and projected), on MariaDB and on PostgreSQL legacy: status, content type, and the
 * JSON byte for byte (key order included), every order and every field. The handlers are
 * called directly with the event store's executor; legacy is asked over HTTP.
 *
 * updatedAt included: legacy stamps updated_at with its own clock, and the sample's commands
 * carry that stamp into their events (`responseData: ["$.updatedAt"]`), so an order changed
 * after its creation answers the same instant from the read model, and the sample's
 * reconciliation, which compares updated_at, finds every row equal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Executor } from '../../src/db/executor.ts';
import { createMysqlExecutor } from '../../src/db/mysqlExecutor.ts';
import { createPgExecutor } from '../../src/db/pgExecutor.ts';
import { openEventStore, type EventStore } from '../../src/eventstore/index.ts';
import { readProjection } from '../../src/projections/runner/projectionRow.ts';
import { loadProjections } from '../../src/projections/registry.ts';
import { createReconciler } from '../../src/reconcile/reconciler.ts';
import { loadReadHandlers } from '../../src/reads/loadReadHandlers.ts';
import type { ReadAnswer, ReadHandler, ReadHandlers } from '../../src/reads/types.ts';
import { migrate, startLegacyOrders, type RunningLegacyOrders } from '../../examples/legacy-orders/index.ts';
import { until } from '../e2e/fixtures/wait.ts';
import { createMysqlTestDb, createPgTestDb, type TestDb } from '../harness/db.ts';
import { seededRandom } from '../helpers/seed.ts';
import { startTestSidecar } from '../helpers/sidecar.ts';

const ORDERS = 1000;
const backends = [
  { name: 'MariaDB', createDb: () => createMysqlTestDb('reads_legacy'), open: (url: string) => createMysqlExecutor({ url }) },
  { name: 'PostgreSQL', createDb: () => createPgTestDb('reads_legacy'), open: (url: string) => createPgExecutor({ url }) },
] as const;

interface Legacy {
  status: number;
  contentType: string | null;
  text: string;
}

/** Runs `tasks` with at most `n` in flight. */
async function pool<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

for (const backend of backends) {
  describe(`read handlers equal legacy (${backend.name} legacy, ${ORDERS} orders)`, () => {
    const rand = seededRandom(`read equivalence (${backend.name})`);
    let legacyDb: TestDb;
    let storeDb: TestDb;
    let db: Executor;
    let store: EventStore;
    let service: RunningLegacyOrders;
    let sidecar: Awaited<ReturnType<typeof startTestSidecar>>;
    let handlers: ReadHandlers;
    const ids: string[] = [];
    const deleted: string[] = [];
    /** Orders changed after creation (their updatedAt is legacy's stamp of the last change). */
    const touched = new Set<string>();
    const customers = Array.from({ length: 40 }, (_, i) => `cust-${i}`);

    const send = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${sidecar.publicUrl}${path}`, {
        method,
        ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : null };
    };
    const price = () => {
      const cents = rand.int(0, 100_000);
      // As clients send it: a string with 2 decimals, or a JSON number (12.5).
      return rand() < 0.5 ? `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}` : cents / 100;
    };
    const skus = ['SKU-1', 'SKU-2', 'sku-3', 'A.9', 'b:7', 'Z-10'];

    beforeAll(async () => {
      legacyDb = await backend.createDb();
      storeDb = await createPgTestDb('reads_store');
      db = backend.open(legacyDb.url);
      await migrate(db);
      service = await startLegacyOrders({ db });
      store = await openEventStore({ url: storeDb.url, migrate: true });
      sidecar = await startTestSidecar({
        upstream: service.url,
        store,
        configure: (c) => {
          c.eventStore.appendTimeoutMs = 10_000; // the event is in the store when the client has its answer
        },
      });

      await pool(
        Array.from({ length: ORDERS }, (_, i) => i),
        8,
        async () => {
          const n = rand.int(1, 4);
          const picked = [...skus].sort(() => rand() - 0.5).slice(0, n);
          const res = await send('POST', '/orders', {
            customerId: rand.pick(customers),
            items: picked.map((sku) => ({ sku, quantity: rand.int(1, 6), price: price() })),
          });
          expect(res.status).toBe(201);
          ids.push(String(res.body!.id));
        },
      );
      // Changes: one to three commands on a third of the orders, each order's in sequence.
      const changed = ids.filter(() => rand() < 0.35);
      await pool(changed, 8, async (id) => {
        for (let k = rand.int(1, 4); k > 0; k--) {
          const op = rand.pick(['pay', 'cancel', 'item', 'patch', 'patch', 'delete'] as const);
          const res =
            op === 'pay' || op === 'cancel'
              ? await send('POST', `/orders/${id}/${op}`)
              : op === 'item'
                ? await send('POST', `/orders/${id}/items`, { sku: `X-${rand.int(0, 1000)}`, quantity: rand.int(1, 3), price: price() })
                : op === 'patch'
                  ? await send('PATCH', `/orders/${id}`, { customerId: rand.pick(customers) })
                  : await send('DELETE', `/orders/${id}`);
          if (res.status >= 300) {
            expect([404, 409]).toContain(res.status); // a transition legacy refuses: no event, nothing changed
            continue;
          }
          touched.add(id);
          if (op === 'delete') {
            deleted.push(id);
            break;
          }
        }
      });
      const head = await store.headPosition();
      await until(
        async () => ((await readProjection(store.db, 'orders'))?.checkpoint.position ?? -1) >= head,
        'the orders projection to catch up',
        60_000,
      );
      handlers = await loadReadHandlers(sidecar.config.entities, { db: store.db });
    }, 240_000);

    afterAll(async () => {
      await sidecar?.stop();
      await store?.close();
      await service?.close();
      await db?.close();
      await storeDb?.drop();
      await legacyDb?.drop();
    });

    const handler = (route: string): ReadHandler => handlers.get('orders')!.get(route)!;
    const legacy = async (path: string): Promise<Legacy> => {
      const res = await fetch(`${service.url}${path}`);
      return { status: res.status, contentType: res.headers.get('content-type'), text: await res.text() };
    };
    const ask = (route: string, path: string, params: Record<string, string> = {}): Promise<ReadAnswer> => {
      const url = new URL(path, 'http://sidecar');
      return handler(route).handle(
        { method: 'GET', url: path, params, query: url.searchParams, headers: {} },
        { db: store.db, signal: new AbortController().signal },
      );
    };
    /** Status, content type and body: byte-equal, nothing masked. */
    const same = (l: Legacy, a: ReadAnswer, what: string) => {
      expect(a.pass, what).toBeFalsy();
      expect(a.status, what).toBe(l.status);
      expect(a.contentType ?? 'application/json; charset=utf-8', what).toBe(l.contentType);
      const legacyBody = JSON.parse(l.text) as unknown;
      expect(JSON.stringify(legacyBody), 'legacy JSON survives parse + stringify').toBe(l.text);
      expect(JSON.stringify(a.body), what).toBe(l.text);
    };

    it('GET /orders/:id (a module): every order, every deleted one, a missing id', async () => {
      expect(ids).toHaveLength(ORDERS);
      const all = [...ids, 'ord_0000000000000000', 'nope'];
      await pool(all, 8, async (id) => {
        same(await legacy(`/orders/${id}`), await ask('GET /orders/:id', `/orders/${id}`, { id }), `GET /orders/${id}`);
      });
      const live = ORDERS - deleted.length;
      console.log(
        `${backend.name}: ${all.length} item reads byte-equal (${live} live, ${deleted.length} deleted, 2 missing); ${touched.size} orders changed after creation, updatedAt included`,
      );
      expect(deleted.length).toBeGreaterThan(0);
      expect(touched.size).toBeGreaterThan(0);
    });

    it('GET /orders (declarative): all, by customer (with and without matches), pages, past the end', async () => {
      const paths = ['/orders', '/orders?customerId=nobody-here', '/orders?customerId=cust-0&limit=1000&offset=0'];
      for (const c of customers) paths.push(`/orders?customerId=${c}`);
      for (const [limit, offset] of [
        [1, 0],
        [10, 0],
        [10, 10],
        [37, 500],
        [1000, 0],
        [1000, 999],
        [5, ORDERS + 10],
      ])
        paths.push(`/orders?limit=${limit}&offset=${offset}`, `/orders?customerId=${rand.pick(customers)}&limit=${limit}&offset=${offset}`);
      paths.push('/orders?offset=990', '/orders?limit=3', '/orders?customerId=cust-1&offset=2&unrelated=x');
      let empty = 0;
      for (const path of paths) {
        const l = await legacy(path);
        same(l, await ask('GET /orders', path), `GET ${path}`);
        if (l.text === '[]') empty++;
      }
      expect(empty).toBeGreaterThanOrEqual(2); // no match, and a page past the end
      expect(JSON.parse((await legacy('/orders')).text)).toHaveLength(ORDERS - deleted.length);
    });

    it("the sample's reconciliation (updated_at compared) finds the read model equal to legacy: orders and order_items", async () => {
      const { entities, reconciliation } = sidecar.config;
      expect(entities.orders!.reconcile.columns).toMatchObject({ updated_at: 'updated_at' });
      const reconciler = createReconciler({
        config: { entities, reconciliation: { ...reconciliation, graceMs: 0 } },
        legacy: db,
        store: store.db,
        projections: await loadProjections(entities),
      });
      for (const r of await reconciler.run({ trigger: 'test' })) {
        if ('error' in r) throw r.error;
        if (r.outcome.kind !== 'finished') throw new Error(r.outcome.reason);
        const rep = r.outcome.report;
        console.log(
          `${backend.name}: reconcile ${rep.entity}: legacy ${rep.legacyRows}, read model ${rep.readModelRows}, matched ${rep.matched}`,
        );
        expect(rep.legacyRows).toBeGreaterThan(0);
        expect({ missing: rep.missingInProjection, extra: rep.extraInProjection, differing: rep.differing, samples: rep.samples }).toEqual({
          missing: 0,
          extra: 0,
          differing: 0,
          samples: [],
        });
        expect(rep.matched).toBe(rep.legacyRows);
      }
    });

    it('GET /orders with parameters legacy rejects: the handler passes them to legacy, which answers 400', async () => {
      const invalid = [
        '/orders?limit=0',
        '/orders?limit=1001',
        '/orders?limit=abc',
        '/orders?limit=-1',
        '/orders?offset=-1',
        '/orders?offset=1.5',
        '/orders?limit=1&limit=2',
        '/orders?customerId=',
        '/orders?customerId=bad%20id',
        '/orders?customerId=cust-1&customerId=cust-2',
      ];
      for (const path of invalid) {
        const l = await legacy(path);
        expect(l.status, path).toBe(400);
        expect(JSON.parse(l.text), path).toMatchObject({ error: 'validation_failed' });
        expect((await ask('GET /orders', path)).pass, path).toBe(true);
      }
    });
  });
}
