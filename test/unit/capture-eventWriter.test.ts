/**
 * The event writer's rules, against an in-memory store and spool (units only; the real
 * store and spool are pinned by their own suites): a bounded wait, then the spool; behind
 * a non-empty spool, always the spool; conflicts retried at the actual version, then `any`.
 */
import { Registry } from 'prom-client';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createEventWriter, type SpoolSink } from '../../src/capture/eventWriter.ts';
import { ConcurrencyError, type AppendResult, type EventStore, type ExpectedState, type NewEvent } from '../../src/eventstore/index.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { createMetrics } from '../../src/metrics/metrics.ts';
import { createFakeEventStore } from '../fixtures/spool/fakeEventStore.ts';
import { metricValue } from '../helpers/metrics.ts';

type Append = (streamId: string, events: readonly NewEvent[], opts?: { expected?: ExpectedState }) => Promise<AppendResult>;

/** The fake store, with every expected state it was asked for recorded, and an optional wrapper around append. */
function fakeStore(wrap?: (inner: Append) => Append) {
  const fake = createFakeEventStore();
  const expectedSeen: ExpectedState[] = [];
  const inner: Append = (s, e, o) => fake.append(s, e, o);
  const append = wrap ? wrap(inner) : inner;
  const store = {
    append: (s: string, e: readonly NewEvent[], o?: { expected?: ExpectedState }) => {
      expectedSeen.push(o?.expected ?? 'any');
      return append(s, e, o);
    },
  } as unknown as EventStore;
  return { fake, store, expectedSeen };
}

function fakeSpool() {
  const entries: Parameters<SpoolSink['write']>[0][] = [];
  const spool: SpoolSink = {
    async write(entry) {
      entries.push(entry);
    },
  };
  return { spool, entries };
}

function setup(
  store: EventStore,
  spool: SpoolSink,
  over: { appendTimeoutMs?: number; maxRetries?: number; initiallyPending?: string[] } = {},
) {
  const metrics = createMetrics(new Registry());
  const writer = createEventWriter({
    store,
    spool,
    appendTimeoutMs: over.appendTimeoutMs ?? 1_000,
    maxRetries: over.maxRetries ?? 3,
    retryBackoffMs: 1,
    metrics,
    logger: silentLogger(),
    ...(over.initiallyPending ? { initiallyPending: over.initiallyPending } : {}),
  });
  return { writer, metrics };
}

let n = 0;
const events = (count = 1) =>
  Array.from({ length: count }, () => ({ id: `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`, type: 'OrderPaid', data: { n } }));
const spoolWrites = (metrics: ReturnType<typeof createMetrics>, reason: string) =>
  metricValue(metrics.registry, 'strangler_spool_writes_total', { reason });

describe('createEventWriter', () => {
  it('appends to the store when it answers in time', async () => {
    const { fake, store } = fakeStore();
    const { spool, entries } = fakeSpool();
    const { writer, metrics } = setup(store, spool);
    const evs = events(2);
    expect(await writer.write('orders', 'orders-1', evs)).toBe('appended');
    expect(fake.log.map((e) => e.id)).toEqual(evs.map((e) => e.id));
    expect(entries).toEqual([]);
    expect(await metricValue(metrics.registry, 'strangler_events_appended_total', { entity: 'orders', via: 'command' })).toBe(2);
  });

  it('a store slower than appendTimeoutMs: the events are spooled with the same ids (reason timeout)', async () => {
    // The store answers only when the test lets it: the write must not wait for that.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let storeAnswered = false;
    const { store } = fakeStore((inner) => async (s, e, o) => {
      await held;
      const r = await inner(s, e, o);
      storeAnswered = true;
      return r;
    });
    const { spool, entries } = fakeSpool();
    const { writer, metrics } = setup(store, spool, { appendTimeoutMs: 20 });
    const evs = events();
    expect(await writer.write('orders', 'orders-1', evs, 'no_stream')).toBe('spooled');
    expect(storeAnswered).toBe(false); // the client did not wait for the slow store
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ streamId: 'orders-1', expected: 'any', entity: 'orders', events: evs });
    expect(await spoolWrites(metrics, 'timeout')).toBe(1);
    release();
    await delay(50); // the late append finishes without an unhandled rejection
  });

  it('a late append that then fails raises nothing after the events were spooled', async () => {
    const { store } = fakeStore(() => async () => {
      await delay(50);
      throw new Error('connection terminated');
    });
    const { spool, entries } = fakeSpool();
    const { writer } = setup(store, spool, { appendTimeoutMs: 10 });
    expect(await writer.write('orders', 'orders-1', events())).toBe('spooled');
    expect(entries).toHaveLength(1);
    await delay(100);
  });

  it('a store error: the events are spooled (reason store_error)', async () => {
    const { fake, store } = fakeStore();
    fake.failAppends(new Error('ECONNREFUSED'));
    const { spool, entries } = fakeSpool();
    const { writer, metrics } = setup(store, spool);
    const evs = events();
    expect(await writer.write('orders', 'orders-1', evs)).toBe('spooled');
    expect(entries.map((e) => e.events)).toEqual([evs]);
    expect(await spoolWrites(metrics, 'store_error')).toBe(1);
  });

  it('entries left in the spool at start-up: every write goes behind it until the drainer appends again (behind_spool)', async () => {
    const { fake, store } = fakeStore();
    const { spool, entries } = fakeSpool();
    const { writer, metrics } = setup(store, spool, { initiallyPending: ['orders-1'] });
    expect(await writer.write('orders', 'orders-1', events())).toBe('spooled');
    expect(await writer.write('orders', 'orders-2', events())).toBe('spooled');
    expect(fake.calls).toBe(0);
    expect(entries.map((e) => e.streamId)).toEqual(['orders-1', 'orders-2']);
    expect(await spoolWrites(metrics, 'behind_spool')).toBe(2);

    // The drainer appended the start-up entry: the store answers again. orders-1 and orders-2
    // still have entries in the spool, so they stay behind it; a stream without any does not.
    writer.drained(['orders-1']);
    expect(await writer.write('orders', 'orders-1', events())).toBe('spooled');
    expect(await writer.write('orders', 'orders-3', events())).toBe('appended');
    expect(fake.calls).toBe(1);
    writer.drained(['orders-1', 'orders-2', 'orders-1']);
    expect(writer.pendingStreams()).toBe(0);
    expect(await writer.write('orders', 'orders-2', events())).toBe('appended');
    expect(await writer.write('orders', 'orders-1', events())).toBe('appended');
  });

  it('after a timeout no write waits on the store until the drainer appends again; then only spooled streams stay behind', async () => {
    let slow = true;
    let asked = 0; // appends the writer started (the fake counts them only once the delay is over)
    const { fake, store } = fakeStore((inner) => async (s, e, o) => {
      asked++;
      if (slow) await delay(100);
      return inner(s, e, o);
    });
    const { spool, entries } = fakeSpool();
    const { writer } = setup(store, spool, { appendTimeoutMs: 10 });
    expect(await writer.write('orders', 'orders-1', events())).toBe('spooled');
    const calls = fake.calls;
    const askedBefore = asked;
    expect(await writer.write('orders', 'orders-2', events())).toBe('spooled');
    expect(asked).toBe(askedBefore); // straight to the spool, the store not even asked: it is known to be slow
    expect(fake.calls).toBe(calls);
    slow = false;
    await delay(150);
    writer.drained(['orders-1']);
    expect(await writer.write('orders', 'orders-2', events())).toBe('spooled'); // still behind its own entry
    expect(await writer.write('orders', 'orders-9', events())).toBe('appended');
    expect(entries.map((e) => e.streamId)).toEqual(['orders-1', 'orders-2', 'orders-2']);
  });

  it('a ConcurrencyError is retried at the actual version the store reported', async () => {
    const { fake, store, expectedSeen } = fakeStore();
    fake.seed('orders-1', { type: 'OrderCreated' });
    fake.seed('orders-1', { type: 'OrderPaid' }); // another writer: the stream is at 2
    const { spool } = fakeSpool();
    const { writer, metrics } = setup(store, spool);
    expect(await writer.write('orders', 'orders-1', events(), 'no_stream')).toBe('appended');
    expect(expectedSeen).toEqual(['no_stream', 2]);
    expect(await metricValue(metrics.registry, 'strangler_append_conflicts_total')).toBe(1);

    // The version is remembered: the next command on the stream expects 3 straight away.
    expect(await writer.write('orders', 'orders-1', events())).toBe('appended');
    expect(expectedSeen).toEqual(['no_stream', 2, 3]);
  });

  it("after maxRetries conflicts it appends with 'any': legacy already applied the command", async () => {
    let moving = 10;
    const { store, expectedSeen } = fakeStore((inner) => async (s, e, o) => {
      // A stream that another writer keeps moving: every exact expectation is stale.
      if (o?.expected !== 'any') throw new ConcurrencyError(s, o?.expected ?? 'any', moving++);
      return inner(s, e, o);
    });
    const { spool, entries } = fakeSpool();
    const { writer, metrics } = setup(store, spool, { maxRetries: 3 });
    expect(await writer.write('orders', 'orders-1', events(), 'stream_exists')).toBe('appended');
    expect(expectedSeen).toEqual(['stream_exists', 10, 11, 12, 'any']);
    expect(await metricValue(metrics.registry, 'strangler_append_conflicts_total')).toBe(4);
    expect(entries).toEqual([]);
  });

  it('re-writing events whose ids are stored is a replay, not a second event', async () => {
    const { fake, store } = fakeStore();
    const { spool } = fakeSpool();
    const { writer } = setup(store, spool);
    const evs = events();
    expect(await writer.write('orders', 'orders-1', evs)).toBe('appended');
    expect(await writer.write('orders', 'orders-1', evs)).toBe('replayed');
    expect(fake.log).toHaveLength(1);
  });
});
