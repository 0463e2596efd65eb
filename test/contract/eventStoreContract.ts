import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConcurrencyError, IdempotencyConflictError, START, type EventStore } from '../../src/eventstore/index.ts';

/**
 * One behaviour, two backends: the same suite runs on real PostgreSQL (test/int) and on
 * embedded PGlite (test/unit). Each call gets a store on an empty, migrated database.
 */
export function describeEventStoreContract(backend: string, open: () => Promise<{ store: EventStore; cleanup: () => Promise<void> }>) {
  describe(`event store contract (${backend})`, () => {
    let store: EventStore;
    let cleanup: () => Promise<void>;
    beforeAll(async () => {
      ({ store, cleanup } = await open());
    });
    afterAll(async () => {
      await cleanup?.();
    });

    const stream = () => `orders-${randomUUID()}`;
    const ev = (type: string, data: unknown = {}, id?: string) => ({ type, data, ...(id ? { id } : {}) });
    const countEvents = async () => Number((await store.db.query<{ n: string }>('SELECT count(*) AS n FROM strangler_events')).rows[0]!.n);

    it('appends a batch to a new stream as versions 1..n with increasing positions', async () => {
      const s = stream();
      const r = await store.append(s, [ev('OrderCreated', { id: 1 }), ev('OrderPaid'), ev('OrderShipped')], { expected: 'no_stream' });
      expect(r.replayed).toBe(false);
      expect(r.events.map((e) => e.version)).toEqual([1, 2, 3]);
      expect(r.nextExpectedVersion).toBe(3);
      const [a, b, c] = r.events.map((e) => e.position);
      expect(a! < b! && b! < c!).toBe(true);
      expect(await store.streamVersion(s)).toBe(3);
      const read = await store.readStream(s);
      expect(read.map((e) => [e.type, e.version])).toEqual([
        ['OrderCreated', 1],
        ['OrderPaid', 2],
        ['OrderShipped', 3],
      ]);
      expect(read[0]!.data).toEqual({ id: 1 });
      expect(read[0]!.recordedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    });

    it('an exact expected version that does not hold is a typed concurrency error carrying the actual version', async () => {
      const s = stream();
      await store.append(s, [ev('A'), ev('B')]);
      const err = await store.append(s, [ev('C')], { expected: 1 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConcurrencyError);
      expect((err as ConcurrencyError).actual).toBe(2);
      expect((err as ConcurrencyError).code).toBe('wrong_expected_version');
      expect((err as ConcurrencyError).status).toBe(409);
      const ok = await store.append(s, [ev('C')], { expected: 2 });
      expect(ok.events[0]!.version).toBe(3);
    });

    it('no_stream fails on an existing stream, stream_exists fails on a missing one, any never fails', async () => {
      const s = stream();
      const missing = await store.append(s, [ev('A')], { expected: 'stream_exists' }).catch((e: unknown) => e);
      expect(missing).toBeInstanceOf(ConcurrencyError);
      expect((missing as ConcurrencyError).actual).toBeNull();
      const exact = await store.append(s, [ev('A')], { expected: 4 }).catch((e: unknown) => e);
      expect(exact).toBeInstanceOf(ConcurrencyError);
      await store.append(s, [ev('A')], { expected: 'any' });
      const dup = await store.append(s, [ev('B')], { expected: 'no_stream' }).catch((e: unknown) => e);
      expect(dup).toBeInstanceOf(ConcurrencyError);
      expect((dup as ConcurrencyError).actual).toBe(1);
      expect((await store.append(s, [ev('B')], { expected: 'stream_exists' })).events[0]!.version).toBe(2);
      expect((await store.append(s, [ev('C')], { expected: 'any' })).events[0]!.version).toBe(3);
      expect(await store.streamVersion(stream())).toBeNull();
    });

    it('re-appending the same event ids stores nothing new and returns the original positions', async () => {
      const s = stream();
      const ids = [randomUUID(), randomUUID()];
      const first = await store.append(s, [ev('A', {}, ids[0]), ev('B', {}, ids[1])], { expected: 'no_stream' });
      const before = await countEvents();
      // A retry carries the stale expected state of the first attempt: still the original result.
      const again = await store.append(s, [ev('A', {}, ids[0]), ev('B', {}, ids[1])], { expected: 'no_stream' });
      expect(again.replayed).toBe(true);
      expect(again.events).toEqual(first.events);
      expect(await countEvents()).toBe(before);
      expect(await store.streamVersion(s)).toBe(2);
    });

    it('a batch whose ids are partly stored is an idempotency conflict and stores nothing', async () => {
      const s = stream();
      const id = randomUUID();
      await store.append(s, [ev('A', {}, id)]);
      const before = await countEvents();
      const err = await store.append(s, [ev('A', {}, id), ev('B')]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(IdempotencyConflictError);
      expect(await countEvents()).toBe(before);
      expect(await store.streamVersion(s)).toBe(1);
    });

    it('a failed batch leaves nothing behind', async () => {
      const s = stream();
      await store.append(s, [ev('A')]);
      const before = await countEvents();
      // A trigger planted for this test fails the third row of the batch, after two were inserted.
      await store.db.exec(`
        CREATE OR REPLACE FUNCTION test_poison() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'poison event refused'; END $$;
        DROP TRIGGER IF EXISTS test_poison ON strangler_events;
        CREATE TRIGGER test_poison BEFORE INSERT ON strangler_events
          FOR EACH ROW WHEN (NEW.event_type = 'Poison') EXECUTE FUNCTION test_poison();`);
      try {
        await expect(store.append(s, [ev('B'), ev('C'), ev('Poison'), ev('D')])).rejects.toThrow(/poison event refused/);
      } finally {
        await store.db.exec('DROP TRIGGER test_poison ON strangler_events');
      }
      expect(await countEvents()).toBe(before);
      expect(await store.streamVersion(s)).toBe(1);
      expect((await store.readStream(s)).map((e) => e.type)).toEqual(['A']);
      // A wrong expected version leaves nothing either, and the stream goes on from where it was.
      await expect(store.append(s, [ev('B'), ev('C')], { expected: 0 })).rejects.toBeInstanceOf(ConcurrencyError);
      expect(await countEvents()).toBe(before);
      expect((await store.append(s, [ev('B')], { expected: 1 })).events[0]!.version).toBe(2);
    });

    it('refuses a batch that carries one event id twice, before touching the store', async () => {
      const id = randomUUID();
      await expect(store.append(stream(), [ev('A', {}, id), ev('B', {}, id)])).rejects.toMatchObject({
        code: 'duplicate_event_id',
        status: 400,
      });
    });

    it('an append inside a caller transaction that conflicts leaves the transaction usable', async () => {
      const s = stream();
      const id = randomUUID();
      await store.append(s, [ev('A', {}, id)]);
      const { appendToStream } = await import('../../src/eventstore/appendToStream.ts');
      const out = await store.db.transaction(async (tx) => {
        const replay = await appendToStream(tx, s, [ev('A', {}, id)], { expected: 'any' });
        await expect(appendToStream(tx, s, [ev('B')], { expected: 'no_stream' })).rejects.toBeInstanceOf(ConcurrencyError);
        const next = await appendToStream(tx, s, [ev('B')], { expected: 1 });
        return { replay, next };
      });
      expect(out.replay.replayed).toBe(true);
      expect(out.next.events[0]!.version).toBe(2);
    });

    it('reads a stream from version N', async () => {
      const s = stream();
      await store.append(
        s,
        Array.from({ length: 10 }, (_, i) => ev(`E${i + 1}`)),
      );
      expect((await store.readStream(s, { fromVersion: 7 })).map((e) => e.version)).toEqual([8, 9, 10]);
      expect((await store.readStream(s, { fromVersion: 3, maxCount: 2 })).map((e) => e.type)).toEqual(['E4', 'E5']);
      expect(await store.readStream(s, { fromVersion: 10 })).toEqual([]);
    });

    it('reads the global log after a checkpoint in batches, each event once, up to the head', async () => {
      const s = stream();
      await store.append(
        s,
        Array.from({ length: 25 }, (_, i) => ev('Tick', { i })),
      );
      let cp = START;
      const seen: number[] = [];
      for (;;) {
        const batch = await store.readAll({ after: cp, limit: 7 });
        if (batch.events.length === 0) break;
        expect(batch.events.length).toBeLessThanOrEqual(7);
        seen.push(...batch.events.map((e) => e.position));
        cp = batch.checkpoint;
      }
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen.length).toBe(await countEvents());
      expect(Math.max(...seen)).toBe(await store.headPosition());
      expect(await store.invisibleCommittedCount()).toBe(0);
    });

    it('a read filtered by stream category returns only those streams and its checkpoint still passes the others', async () => {
      const tag = randomUUID().slice(0, 8);
      const mine = `mine${tag}-1`;
      const start = await store.headPosition();
      const after = (await store.checkpointAt(start)) ?? START;
      await store.append(mine, [ev('A', { n: 1 })]);
      await store.append(`other${tag}-1`, [ev('B'), ev('B'), ev('B')]);
      await store.append(mine, [ev('A', { n: 2 })]);
      await store.append(`other${tag}-2`, [ev('B'), ev('B')]);
      const head = await store.headPosition();
      const streamPrefixes = [`mine${tag}-`];

      const first = await store.readAll({ after, limit: 3, streamPrefixes });
      expect(first.events.map((e) => e.streamId)).toEqual([mine]);
      expect(first.scanned).toBe(3);
      // The window ended on another stream's event: the checkpoint is there, not at the last event returned.
      expect(first.checkpoint.position).toBeGreaterThan(first.events[0]!.position);

      const seen = [...first.events];
      let cp = first.checkpoint;
      for (;;) {
        const batch = await store.readAll({ after: cp, limit: 3, streamPrefixes });
        if (batch.scanned === 0) {
          expect(batch.checkpoint).toEqual(cp);
          break;
        }
        seen.push(...batch.events);
        cp = batch.checkpoint;
      }
      expect(seen.map((e) => e.data)).toEqual([{ n: 1 }, { n: 2 }]);
      expect(cp.position).toBe(head); // the trailing events of the other stream were passed too
    });

    it("streamHead is the checkpoint (transaction id, position) of the stream's latest event; null without one", async () => {
      const s = stream();
      expect(await store.streamHead(s)).toBeNull();
      await store.append(s, [ev('A'), ev('B')]);
      await store.append(stream(), [ev('Other')]);
      const head = await store.streamHead(s);
      const events = await store.readStream(s);
      const last = events[events.length - 1]!;
      expect(head).toEqual({ transactionId: last.transactionId, position: last.position });
    });

    it('stored events cannot be updated or deleted', async () => {
      const s = stream();
      await store.append(s, [ev('A')]);
      await expect(store.db.query("UPDATE strangler_events SET event_type = 'X' WHERE stream_id = $1", [s])).rejects.toThrow(/append-only/);
      await expect(store.db.query('DELETE FROM strangler_events WHERE stream_id = $1', [s])).rejects.toThrow(/append-only/);
    });

    it('keeps metadata and exposes a stable store epoch', async () => {
      const s = stream();
      await store.append(s, [{ type: 'A', data: { n: '12345678901234567890' }, metadata: { correlationId: 'req-1', schemaVersion: 1 } }]);
      const [e] = await store.readStream(s);
      expect(e!.metadata).toEqual({ correlationId: 'req-1', schemaVersion: 1 });
      expect(e!.data).toEqual({ n: '12345678901234567890' });
      const epoch = await store.epoch();
      expect(epoch).toMatch(/^\d+$/);
      expect(await store.epoch()).toBe(epoch);
    });
  });
}
