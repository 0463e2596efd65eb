import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { Writable } from 'node:stream';
import { openEventStore, type EventStore, type NewEvent } from '../../src/eventstore/index.ts';
import { orderAggregate } from '../../examples/legacy-orders/projections/orders/aggregate.ts';
import { rehydrate } from '../../src/snapshots/rehydrate.ts';
import { snapshotDigest } from '../../src/snapshots/digest.ts';
import { loadSnapshot, saveSnapshot, type SnapshotEnvelope } from '../../src/snapshots/snapshotStore.ts';
import { createPgTestDb, type TestDb } from '../harness/db.ts';

let testDb: TestDb;
let store: EventStore;
beforeAll(async () => {
  testDb = await createPgTestDb('snapshots');
  store = await openEventStore({ url: testDb.url, migrate: true });
});
afterAll(async () => {
  await store?.close();
  await testDb?.drop();
});

const created = (id: string): NewEvent => ({
  type: 'OrderCreated',
  data: {
    id,
    customerId: 'cust-1',
    status: 'CREATED',
    totalAmount: '0.00',
    items: [],
    createdAt: '2024-03-02T01:01:07.000010Z',
    updatedAt: '2024-03-02T01:01:07.000010Z',
  },
});
const items = (from: number, n: number): NewEvent[] =>
  Array.from({ length: n }, (_, i) => ({
    type: 'OrderItemAdded',
    data: {
      sku: `SKU-${String(from + i).padStart(4, '0')}`,
      quantity: 1 + ((from + i) % 3),
      price: `${from + i}.${String((from + i) % 100).padStart(2, '0')}`,
    },
  }));

/** A logger whose warnings the test can read. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'warn' },
    new Writable({ write: (chunk: Buffer, _e, cb) => (lines.push(JSON.parse(chunk.toString())), cb()) }),
  );
  return { logger, lines };
}

async function orderStream(id: string, events: number): Promise<string> {
  const streamId = `orders-${id}`;
  await store.append(streamId, [created(id), ...items(1, events - 1)], { expected: 'no_stream' });
  return streamId;
}

const fullReplay = async (streamId: string) =>
  (await rehydrate(store, store.db, streamId, orderAggregate, { interval: 100, useSnapshots: false })).state;

describe('snapshots (PostgreSQL 15)', () => {
  it('rehydrating 250 events uses the snapshot taken at 200 and reads only the events after it', async () => {
    const streamId = await orderStream('ord_0000000000000250', 200);
    const first = await rehydrate(store, store.db, streamId, orderAggregate, { interval: 100 });
    expect(first).toMatchObject({
      version: 200,
      eventsRead: 200,
      eventsReplayed: 200,
      snapshot: { usedVersion: null, savedVersion: 200, discarded: null },
    });

    await store.append(streamId, items(200, 50), { expected: 200 });
    const second = await rehydrate(store, store.db, streamId, orderAggregate, { interval: 100 });
    // 51 = the snapshot's anchor event (version 200, to validate it) + versions 201..250.
    expect(second).toMatchObject({
      version: 250,
      eventsRead: 51,
      eventsReplayed: 50,
      snapshot: { usedVersion: 200, savedVersion: null, discarded: null },
    });
    expect(second.state).toEqual(await fullReplay(streamId));
    expect(second.state.items).toHaveLength(249);
    expect((await loadSnapshot(store.db, streamId, 'order'))?.version).toBe(200);
  });

  it('saves a new snapshot once interval events were replayed past the last one', async () => {
    const streamId = await orderStream('ord_0000000000000101', 101);
    expect((await rehydrate(store, store.db, streamId, orderAggregate, { interval: 100 })).snapshot.savedVersion).toBe(101);
    await store.append(streamId, items(101, 99), { expected: 101 });
    expect((await rehydrate(store, store.db, streamId, orderAggregate, { interval: 100 })).snapshot.savedVersion).toBeNull();
    await store.append(streamId, items(200, 1), { expected: 200 });
    expect((await rehydrate(store, store.db, streamId, orderAggregate, { interval: 100 })).snapshot).toMatchObject({
      usedVersion: 101,
      savedVersion: 201,
    });
  });

  it('a tampered snapshot is detected, discarded and logged; the stream is replayed from 0 and equals a full replay', async () => {
    const streamId = await orderStream('ord_00000000000000aa', 200);
    await rehydrate(store, store.db, streamId, orderAggregate, { interval: 100 });
    await store.append(streamId, items(200, 50), { expected: 200 });
    // Somebody "fixes" the total by hand in the snapshot table.
    await store.db.query(`UPDATE strangler_snapshots SET state = jsonb_set(state, '{state,totalCents}', '"1"') WHERE stream_id = $1`, [
      streamId,
    ]);

    const { logger, lines } = capturingLogger();
    const r = await rehydrate(store, store.db, streamId, orderAggregate, { interval: 100, logger });
    expect(r.snapshot).toMatchObject({ usedVersion: null, discarded: expect.stringMatching(/digest mismatch/), savedVersion: 250 });
    expect(r.eventsRead).toBe(51 + 250);
    expect(r.state).toEqual(await fullReplay(streamId));
    expect(r.state.totalCents).not.toBe(1n);
    expect(lines).toEqual([
      expect.objectContaining({ msg: 'invalid snapshot discarded; replaying the stream from version 0', streamId, snapshotVersion: 200 }),
    ]);
    // The replacement is valid: the next rehydration starts from it.
    expect((await rehydrate(store, store.db, streamId, orderAggregate, { interval: 100 })).snapshot).toMatchObject({
      usedVersion: 250,
      discarded: null,
    });
  });

  it('a snapshot whose anchor event is not in the stream is discarded even with a matching digest', async () => {
    const streamId = await orderStream('ord_00000000000000bb', 120);
    const state = orderAggregate.serialize({ ...orderAggregate.initial(), exists: true, id: 'forged', status: 'PAID', version: 120 });
    const anchorEventId = '00000000-0000-4000-8000-000000000000';
    const envelope: SnapshotEnvelope = {
      format: 1,
      foldVersion: 1,
      anchor: { eventId: anchorEventId, position: 1 },
      digest: snapshotDigest({ streamId, kind: 'order', foldVersion: 1, version: 120, anchorEventId, state }),
      state,
    };
    await saveSnapshot(store.db, streamId, 'order', 120, envelope);
    const r = await rehydrate(store, store.db, streamId, orderAggregate, { interval: 100 });
    expect(r.snapshot.discarded).toMatch(
      /the event at version 120 is .*, the snapshot was taken after 00000000-0000-4000-8000-000000000000/,
    );
    expect(r.state).toEqual(await fullReplay(streamId));

    // And one claiming a version the stream never reached.
    await store.db.query('DELETE FROM strangler_snapshots WHERE stream_id = $1', [streamId]);
    const ahead = { ...envelope, digest: snapshotDigest({ streamId, kind: 'order', foldVersion: 1, version: 500, anchorEventId, state }) };
    await saveSnapshot(store.db, streamId, 'order', 500, ahead);
    const r2 = await rehydrate(store, store.db, streamId, orderAggregate, { interval: 100 });
    expect(r2.snapshot.discarded).toBe('the stream has no event at version 500 any more');
    expect(r2.state.id).toBe('ord_00000000000000bb');
  });

  it('a snapshot written by another fold version is not reused', async () => {
    const streamId = await orderStream('ord_00000000000000cc', 100);
    await rehydrate(store, store.db, streamId, orderAggregate, { interval: 100 });
    const r = await rehydrate(store, store.db, streamId, { ...orderAggregate, version: 2 }, { interval: 100 });
    expect(r.snapshot.discarded).toBe('written by fold version 1, current is 2');
    expect(r.eventsReplayed).toBe(100);
  });
});
