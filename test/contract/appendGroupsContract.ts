import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConcurrencyError,
  createEventStore,
  IdempotencyConflictError,
  type EventStore,
  type NewEvent,
} from '../../src/eventstore/index.ts';

/**
 * Grouped appends (src/eventstore/appendGroups.ts) on both backends. Each test drives a
 * store with one statement in flight: the first append goes alone, and everything issued
 * while it runs waits and goes as one group, so the grouping under test is certain.
 */
export function describeAppendGroupsContract(backend: string, open: () => Promise<{ store: EventStore; cleanup: () => Promise<void> }>) {
  describe(`grouped appends (${backend})`, () => {
    let base: EventStore;
    let cleanup: () => Promise<void>;
    let store: EventStore;
    beforeAll(async () => {
      ({ store: base, cleanup } = await open());
      store = createEventStore(base.db, 'grouped', { appendGroups: { maxInFlight: 1, maxAppends: 64, maxEventsPerAppend: 100 } });
    });
    afterAll(async () => {
      await cleanup?.();
    });

    const stream = () => `g-${randomUUID()}`;
    const ev = (type: string, id?: string): NewEvent => ({ type, data: { type }, ...(id ? { id } : {}) });
    const countEvents = async () => Number((await base.db.query<{ n: string }>('SELECT count(*) AS n FROM strangler_events')).rows[0]!.n);
    const settle = <T>(p: Promise<T>) =>
      p.then(
        (value) => ({ value, error: null as unknown }),
        (error: unknown) => ({ value: null, error }),
      );

    /** Issues `appends` while a first append is in flight, so they travel as one group. */
    async function asOneGroup<T>(appends: () => Promise<T>[]): Promise<{ results: Awaited<T>[]; statements: number; fallbacks: number }> {
      const before = store.appendStats();
      const first = store.append(stream(), [ev('Opener')]);
      const issued = appends();
      await first;
      const results = await Promise.all(issued);
      const after = store.appendStats();
      return { results, statements: after.statements - before.statements, fallbacks: after.fallbacks - before.fallbacks };
    }

    it('appends waiting behind one in flight go as one statement and one transaction, each with its own outcome', async () => {
      const [s1, s2, s3, s4, s5, s6] = [stream(), stream(), stream(), stream(), stream(), stream()];
      await base.append(s1, [ev('A'), ev('B')]);
      await base.append(s2, [ev('A')]);
      await base.append(s3, [ev('A')]);
      const before = await countEvents();
      const { results, statements, fallbacks } = await asOneGroup(() => [
        settle(store.append(s1, [ev('C')], { expected: 2 })),
        settle(store.append(s2, [ev('B')], { expected: 5 })),
        settle(store.append(s3, [ev('B')], { expected: 'no_stream' })),
        settle(store.append(s4, [ev('A'), ev('B')], { expected: 'no_stream' })),
        settle(store.append(s5, [ev('A')], { expected: 'stream_exists' })),
        // The same stream again, behind the first append to it: arrival order holds.
        settle(store.append(s1, [ev('D')], { expected: 3 })),
        settle(store.append(s6, [ev('A')], { expected: 'any' })),
      ]);
      expect(statements).toBe(2);
      expect(fallbacks).toBe(0);
      const [a, b, c, d, e, f, h] = results;
      expect(a!.value!.events.map((x) => x.version)).toEqual([3]);
      expect(b!.error).toBeInstanceOf(ConcurrencyError);
      expect((b!.error as ConcurrencyError).actual).toBe(1);
      expect(c!.error).toBeInstanceOf(ConcurrencyError);
      expect((c!.error as ConcurrencyError).actual).toBe(1);
      expect(d!.value!.events.map((x) => x.version)).toEqual([1, 2]);
      expect(d!.value!.nextExpectedVersion).toBe(2);
      expect(e!.error).toBeInstanceOf(ConcurrencyError);
      expect((e!.error as ConcurrencyError).actual).toBeNull();
      expect(f!.value!.events.map((x) => x.version)).toEqual([4]);
      expect(h!.value!.events.map((x) => x.version)).toEqual([1]);
      // The opener plus the 5 events of the appends that held; the others stored nothing.
      expect(await countEvents()).toBe(before + 6);
      expect((await base.readStream(s1)).map((x) => x.type)).toEqual(['A', 'B', 'C', 'D']);
      expect(await base.streamVersion(s2)).toBe(1);
      expect(await base.streamVersion(s5)).toBeNull();
      // One statement, one transaction: the group's events share the writing transaction.
      const txs = new Set<string>();
      for (const s of [s1, s4, s6]) for (const x of await base.readStream(s, { fromVersion: s === s1 ? 3 : 1 })) txs.add(x.transactionId);
      expect(txs.size).toBe(1);
    });

    it('a stored event id in a group: the appends are sent again one by one and each ends as it would alone', async () => {
      const [s1, s2, s3] = [stream(), stream(), stream()];
      const stored = randomUUID();
      const original = await base.append(s1, [ev('A', stored)]);
      const before = await countEvents();
      const { results, statements, fallbacks } = await asOneGroup(() => [
        settle(store.append(s1, [ev('A', stored)], { expected: 'no_stream' })),
        settle(store.append(s2, [ev('A', stored), ev('B')])),
        settle(store.append(s3, [ev('A'), ev('B')], { expected: 'no_stream' })),
      ]);
      expect(statements).toBe(2);
      expect(fallbacks).toBe(1);
      const [replay, partial, fresh] = results;
      expect(replay!.value!.replayed).toBe(true);
      expect(replay!.value!.events).toEqual(original.events);
      expect(partial!.error).toBeInstanceOf(IdempotencyConflictError);
      expect(fresh!.value!.replayed).toBe(false);
      expect(fresh!.value!.events.map((x) => x.version)).toEqual([1, 2]);
      expect(await countEvents()).toBe(before + 1 + 2);
      expect(await base.streamVersion(s2)).toBeNull();
    });

    it('data the server refuses fails only the append that carries it', async () => {
      const [s1, s2] = [stream(), stream()];
      const before = await countEvents();
      // jsonb has no NUL character: the server refuses this event's data.
      const { results, fallbacks } = await asOneGroup(() => [
        settle(store.append(s1, [{ type: 'Bad', data: { note: 'a\u0000b' } }])),
        settle(store.append(s2, [ev('Good')])),
      ]);
      expect(fallbacks).toBe(1);
      expect(String((results[0]!.error as Error).message)).toMatch(/unsupported Unicode escape|\\u0000/);
      expect(results[1]!.value!.events.map((x) => x.version)).toEqual([1]);
      expect(await countEvents()).toBe(before + 2);
      expect(await base.streamVersion(s1)).toBeNull();
    });

    it('data JSON cannot carry fails its own append when it is made, not the group it would have joined', async () => {
      const [s1, s2] = [stream(), stream()];
      const { results, fallbacks } = await asOneGroup(() => [
        settle(store.append(s1, [{ type: 'Bad', data: { amount: 10n } }])),
        settle(store.append(s2, [ev('Good')])),
      ]);
      expect(fallbacks).toBe(0);
      expect(results[0]!.error).toBeInstanceOf(TypeError);
      expect(results[1]!.value!.events.map((x) => x.version)).toEqual([1]);
      expect(await base.streamVersion(s1)).toBeNull();
    });

    it('concurrent retries of one batch inside a group store it once', async () => {
      const s = stream();
      const ids = [randomUUID(), randomUUID()];
      const { results } = await asOneGroup(() =>
        Array.from({ length: 8 }, () =>
          store.append(
            s,
            ids.map((id) => ev('Once', id)),
          ),
        ),
      );
      expect(results.filter((r) => !r.replayed).length).toBe(1);
      expect(new Set(results.map((r) => JSON.stringify(r.events))).size).toBe(1);
      expect(await base.streamVersion(s)).toBe(2);
    });

    it('a large batch is not grouped, and grouping off sends every append alone', async () => {
      const big = Array.from({ length: 101 }, (_, i) => ev(`E${i}`));
      const before = store.appendStats();
      const r = await store.append(stream(), big);
      expect(r.events.length).toBe(101);
      expect(store.appendStats()).toEqual(before);
      const alone = createEventStore(base.db, 'alone', { appendGroups: { maxInFlight: 0, maxAppends: 64, maxEventsPerAppend: 100 } });
      await Promise.all(Array.from({ length: 5 }, () => alone.append(stream(), [ev('A')])));
      expect(alone.appendStats().statements).toBe(0);
    });
  });
}
