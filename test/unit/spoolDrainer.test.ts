import fsp from 'node:fs/promises';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { IdempotencyConflictError } from '../../src/eventstore/index.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { createMetrics } from '../../src/metrics/metrics.ts';
import { createSpoolDrainer, openSpool } from '../../src/spool/index.ts';
import { createFakeEventStore } from '../fixtures/spool/fakeEventStore.ts';
import { spoolEntry, tempSpoolDir } from '../fixtures/spool/entries.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(entries: number, opts: { batch?: number } = {}) {
  const dir = await tempSpoolDir();
  const spool = await openSpool({ dir, fsync: false });
  const store = createFakeEventStore();
  const metrics = createMetrics(new Registry());
  let clock = 1_000_000;
  const drainer = createSpoolDrainer({
    spool,
    store,
    logger: silentLogger(),
    metrics,
    batch: opts.batch ?? 100,
    intervalMs: 5,
    retryInitialMs: 2,
    retryMaxMs: 10,
    now: () => clock,
  });
  cleanups.push(async () => {
    await drainer.stop();
    await spool.close();
    await fsp.rm(dir, { recursive: true, force: true });
  });
  const written = [];
  for (let n = 0; n < entries; n++) {
    const e = spoolEntry(`orders-${n % 3}`, n, 2);
    await spool.write(e);
    written.push(e);
  }
  return { dir, spool, store, metrics, drainer, written, tick: (ms: number) => (clock += ms) };
}

const eventIds = (entries: { events: { id: string }[] }[]) => entries.flatMap((e) => e.events.map((ev) => ev.id));

async function until(cond: () => boolean, what: string, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

async function metric(metrics: ReturnType<typeof createMetrics>, name: string): Promise<number> {
  const m = (await metrics.registry.getMetricsAsJSON()).find((x) => x.name === name);
  return (m?.values as { value: number }[] | undefined)?.reduce((s, v) => s + v.value, 0) ?? 0;
}

describe('spool drainer', () => {
  it('appends spooled entries in spool order, acks them and updates the metrics', async () => {
    const { store, spool, drainer, written, metrics } = await setup(7, { batch: 3 });
    expect(await drainer.drainOnce()).toBe(3);
    expect(spool.depth()).toBe(4);
    expect(await drainer.drainOnce()).toBe(3);
    expect(await drainer.drainOnce()).toBe(1);
    expect(await drainer.drainOnce()).toBe(0);
    expect(store.log.map((e) => e.id)).toEqual(eventIds(written));
    expect(drainer.state()).toMatchObject({ depth: 0, drainedTotal: 7, lastError: null, draining: false });
    expect(await metric(metrics, 'strangler_spool_drained_total')).toBe(7);
    expect(await metric(metrics, 'strangler_spool_depth')).toBe(0);
    expect(await metric(metrics, 'strangler_events_appended_total')).toBe(14);
  });

  it('entries appended before a crash but not acked are re-appended as replays: no duplicates', async () => {
    const { store, drainer, written } = await setup(5);
    // A previous drainer appended the first three, then died before storing the cursor.
    for (const e of written.slice(0, 3)) await store.append(e.streamId, e.events, { expected: e.expected });
    expect(await drainer.drainOnce()).toBe(5);
    expect(store.log.map((e) => e.id)).toEqual(eventIds(written));
  });

  it('keeps retrying with backoff while the store is down and loses nothing', async () => {
    const { store, spool, drainer, written } = await setup(20, { batch: 4 });
    store.failAppends(new Error('connect ECONNREFUSED 127.0.0.1:5432'));
    drainer.start();
    await until(() => drainer.state().failures >= 4, 'four failed passes');
    expect(drainer.state().lastError?.message).toMatch(/ECONNREFUSED/);
    expect(drainer.state().halted).toBe(false);
    expect(spool.depth()).toBe(20);
    store.failAppends(undefined);
    await until(() => spool.depth() === 0, 'the spool to drain');
    await drainer.stop();
    expect(store.log.map((e) => e.id)).toEqual(eventIds(written));
    expect(drainer.state()).toMatchObject({ lastError: null, failures: 0, drainedTotal: 20 });
  });

  it('a pass that fails half way acks the entries it appended and resumes at the failed one', async () => {
    const { store, spool, drainer, written } = await setup(6);
    const append = store.append.bind(store);
    let calls = 0;
    store.append = async (...args) => {
      if (++calls === 4) throw new Error('connection terminated unexpectedly');
      return append(...args);
    };
    await expect(drainer.drainOnce()).rejects.toThrow(/terminated/);
    expect(spool.depth()).toBe(3);
    expect(await drainer.drainOnce()).toBe(3);
    expect(store.log.map((e) => e.id)).toEqual(eventIds(written));
  });

  it('a wrong expected version is appended with "any" instead of wedging the spool', async () => {
    const dir = await tempSpoolDir();
    const spool = await openSpool({ dir, fsync: false });
    const store = createFakeEventStore();
    const drainer = createSpoolDrainer({ spool, store, logger: silentLogger() });
    cleanups.push(async () => {
      await spool.close();
      await fsp.rm(dir, { recursive: true, force: true });
    });
    store.seed('orders-9', { type: 'OrderImported' }); // someone else wrote first
    const entry = { ...spoolEntry('orders-9', 0), expected: 'no_stream' as const };
    await spool.write(entry);
    expect(await drainer.drainOnce()).toBe(1);
    expect(store.log.map((e) => e.id).slice(1)).toEqual(eventIds([entry]));
  });

  it('an idempotency conflict halts the drainer on that entry without skipping it', async () => {
    const { store, spool, written } = await setup(4);
    const errors: { fatal: boolean }[] = [];
    const stuck = written[2]!;
    store.seed(stuck.streamId, { id: stuck.events[0]!.id, type: 'OrderPlaced' }); // one of its two ids is taken
    const halted = createSpoolDrainer({
      spool,
      store,
      logger: silentLogger(),
      retryInitialMs: 1,
      onError: (_e, info) => errors.push(info),
    });
    cleanups.push(() => halted.stop());
    halted.start();
    await until(() => halted.state().halted, 'the drainer to halt');
    expect(halted.state().lastError).toBeInstanceOf(IdempotencyConflictError);
    expect(errors).toEqual([{ fatal: true }]);
    expect(spool.depth()).toBe(2); // entries 0 and 1 drained, 2 and 3 kept
    expect((await spool.peek(1))[0]!.entry.events[0]!.id).toBe(stuck.events[0]!.id);
    await new Promise((r) => setTimeout(r, 20));
    expect(store.calls).toBe(3); // it did not retry in a loop, nor move on to entry 3
  });

  it('stop() is idempotent and waits for the pass in flight', async () => {
    const { store, spool, drainer } = await setup(10, { batch: 10 });
    const append = store.append.bind(store);
    store.append = async (...args) => {
      await new Promise((r) => setTimeout(r, 2));
      return append(...args);
    };
    drainer.start();
    await until(() => drainer.state().draining, 'a pass to start');
    const [a, b] = [drainer.stop(), drainer.stop()];
    await Promise.all([a, b]);
    expect(drainer.state().draining).toBe(false);
    expect(spool.depth()).toBe(0);
    const calls = store.calls;
    await new Promise((r) => setTimeout(r, 30));
    expect(store.calls).toBe(calls);
  });

  it('reports the drain rate over the last window', async () => {
    const { drainer, tick } = await setup(30, { batch: 10 });
    await drainer.drainOnce();
    tick(4_000);
    await drainer.drainOnce();
    expect(drainer.state().ratePerSecond).toBe(2); // 20 entries in a 10 s window
    tick(8_000);
    expect(drainer.state().ratePerSecond).toBe(1); // the first pass fell out of the window
  });
});
