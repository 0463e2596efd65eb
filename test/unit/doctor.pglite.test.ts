import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDoctor } from '../../src/doctor/index.ts';
import { openEventStore, type EventStore } from '../../src/eventstore/index.ts';
import { orderAggregate } from '../../examples/legacy-orders/projections/orders/aggregate.ts';
import { rehydrate } from '../../src/snapshots/index.ts';

// The same SQL serves the embedded store (PGlite, PostgreSQL 18 in-process).
let store: EventStore;
beforeAll(async () => {
  store = await openEventStore({ url: 'memory', migrate: true });
}, 60_000); // PGlite's WASM start-up is slow on a busy machine
afterAll(async () => {
  await store?.close();
});

describe('doctor and snapshots on the embedded store (PGlite)', () => {
  it('a clean store is healthy, then a planted gap is found', async () => {
    for (let i = 0; i < 3; i++)
      await store.append(`s-${i}`, [
        { type: 'A', data: {} },
        { type: 'B', data: {} },
      ]);
    const clean = await runDoctor(store.db);
    expect(clean.findings).toEqual([]);
    expect(clean.healthy).toBe(true);
    await store.db.query(
      `INSERT INTO strangler_events (stream_id, stream_version, event_id, event_type, data) VALUES ('s-1', 5, gen_random_uuid(), 'C', '{}')`,
    );
    await store.db.query(`UPDATE strangler_streams SET version = 5 WHERE stream_id = 's-1'`);
    const report = await runDoctor(store.db);
    expect(report.findings.map((f) => f.message)).toEqual(['s-1 jumps from version 2 to 5 (missing 3..4)']);
    expect(report.healthy).toBe(false);
  });

  it('rehydrate saves and reuses a snapshot', async () => {
    const id = 'ord_embedded';
    await store.append(`orders-${id}`, [
      {
        type: 'OrderCreated',
        data: {
          id,
          customerId: 'c',
          status: 'CREATED',
          totalAmount: '0.00',
          items: [],
          createdAt: '2024-03-02T01:01:07.000010Z',
          updatedAt: '2024-03-02T01:01:07.000010Z',
        },
      },
      ...Array.from({ length: 10 }, (_, i) => ({ type: 'OrderItemAdded', data: { sku: `S${i}`, quantity: 1, price: '1.00' } })),
    ]);
    expect((await rehydrate(store, store.db, `orders-${id}`, orderAggregate, { interval: 5 })).snapshot.savedVersion).toBe(11);
    const again = await rehydrate(store, store.db, `orders-${id}`, orderAggregate, { interval: 5 });
    expect(again).toMatchObject({ eventsRead: 1, snapshot: { usedVersion: 11 } });
    expect(again.state.totalCents).toBe(1000n);
  });
});
