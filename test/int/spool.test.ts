import { spawn, type ChildProcess } from 'node:child_process';
import fsp from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEventStore, type EventStore } from '../../src/eventstore/index.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { createSpoolDrainer, openSpool, type SpoolEntry } from '../../src/spool/index.ts';
import { createPgTestDb, type TestDb } from '../harness/db.ts';
import { startPostgres, type PgServer } from '../harness/servers.ts';
import { spoolEntry, tempSpoolDir } from '../fixtures/spool/entries.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** Entries spread over streams, several events each, in the order they were spooled. */
function makeEntries(count: number, streams: number, events: number, tag: string): SpoolEntry[] {
  return Array.from({ length: count }, (_, n) => spoolEntry(`orders-${tag}-${n % streams}`, n, events));
}

async function spoolAll(dir: string, entries: SpoolEntry[]): Promise<void> {
  const spool = await openSpool({ dir, fsync: true });
  try {
    // Concurrent writers, each in its own stream order: the spool's order is what the
    // writes resolved in, so per-stream order is what must survive.
    const byStream = new Map<string, SpoolEntry[]>();
    for (const e of entries) byStream.set(e.streamId, [...(byStream.get(e.streamId) ?? []), e]);
    await Promise.all(
      [...byStream.values()].map(async (list) => {
        for (const e of list) await spool.write(e);
      }),
    );
  } finally {
    await spool.close();
  }
}

interface StoredEvent {
  stream_id: string;
  event_id: string;
}

async function storedEvents(store: EventStore, prefix: string): Promise<StoredEvent[]> {
  const { rows } = await store.db.query<StoredEvent>(
    `SELECT stream_id, event_id::text AS event_id FROM strangler_events WHERE stream_id LIKE $1 ORDER BY stream_id, stream_version`,
    [`${prefix}%`],
  );
  return rows;
}

/** Every event id exactly once, and each stream's events in the order they were spooled. */
function expectExactlyOnceInOrder(stored: StoredEvent[], entries: SpoolEntry[]): void {
  const ids = stored.map((r) => r.event_id);
  expect(new Set(ids).size).toBe(ids.length);
  expect(ids.length).toBe(entries.reduce((n, e) => n + e.events.length, 0));
  const expected = new Map<string, string[]>();
  for (const e of entries) expected.set(e.streamId, [...(expected.get(e.streamId) ?? []), ...e.events.map((ev) => ev.id)]);
  const actual = new Map<string, string[]>();
  for (const r of stored) actual.set(r.stream_id, [...(actual.get(r.stream_id) ?? []), r.event_id]);
  expect(actual).toEqual(expected);
}

describe('spool drainer against a PostgreSQL that is killed and restarted', () => {
  let server: PgServer;
  let store: EventStore;
  let dir: string;
  beforeAll(async () => {
    server = await startPostgres();
    store = await openEventStore({ url: server.url, migrate: true, poolSize: 4 });
    dir = await tempSpoolDir();
  });
  afterAll(async () => {
    await store?.close();
    await server?.destroy();
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
  });

  it('500 appends spooled while the server is down reach the store exactly once, in order, after it comes back', async () => {
    const entries = makeEntries(500, 20, 2, 'down');
    await server.kill('SIGKILL');
    await expect(store.append('orders-down-probe', [{ type: 'Probe', data: {} }])).rejects.toThrow();
    await spoolAll(dir, entries);

    const spool = await openSpool({ dir, fsync: true });
    const drainer = createSpoolDrainer({ spool, store, logger: silentLogger(), intervalMs: 20, retryInitialMs: 50, retryMaxMs: 400 });
    try {
      expect(spool.depth()).toBe(500);
      drainer.start();
      await until(() => drainer.state().failures >= 3, 'three failed passes while the server is down');
      expect(drainer.state()).toMatchObject({ depth: 500, drainedTotal: 0, halted: false });
      expect(drainer.state().lastError).not.toBeNull();

      await server.start();
      await until(() => spool.depth() === 0, 'the spool to drain after the restart');
      await drainer.stop();
      expect(drainer.state()).toMatchObject({ drainedTotal: 500, lastError: null });
      expectExactlyOnceInOrder(await storedEvents(store, 'orders-down-'), entries);
    } finally {
      await drainer.stop();
      await spool.close();
    }
  });
});

describe('spool drainer SIGKILLed mid-drain (child process)', () => {
  let testDb: TestDb;
  let store: EventStore;
  let dir: string;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    testDb = await createPgTestDb('spoolcrash');
    store = await openEventStore({ url: testDb.url, migrate: true });
    dir = await tempSpoolDir();
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await store?.close();
    await testDb?.drop();
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
  });

  function runChild(delayMs: number) {
    const child = spawn(process.execPath, ['bin/run-ts.mjs', 'test/int/fixtures/spoolDrainChild.ts', dir, testDb.url, String(delayMs)], {
      cwd: process.cwd(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    const lines: Record<string, unknown>[] = [];
    let stderr = '';
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let i = buf.indexOf('\n'); i !== -1; i = buf.indexOf('\n')) {
        lines.push(JSON.parse(buf.slice(0, i)) as Record<string, unknown>);
        buf = buf.slice(i + 1);
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (code, signal) => resolve({ code, signal })),
    );
    return { child, lines, exited, stderr: () => stderr };
  }

  const countStored = async () =>
    Number(
      (await store.db.query<{ n: string }>(`SELECT count(*) AS n FROM strangler_events WHERE stream_id LIKE 'orders-crash-%'`)).rows[0]!.n,
    );

  it('a drainer killed between its appends and its cursor write re-appends as replays: every event exactly once', async () => {
    const entries = makeEntries(1000, 25, 3, 'crash');
    await spoolAll(dir, entries);
    const spoolOrder = await spooledOrder(dir);

    // Batches of 100 entries; kill once 250 entries' events are stored: mid third pass,
    // after 200 were acked and ~50 appended but not acked.
    const first = runChild(2);
    await until(async () => (await countStored()) >= 250 * 3 || first.child.exitCode !== null, 'the first drainer to be mid-drain');
    first.child.kill('SIGKILL');
    const firstExit = await first.exited;
    expect(firstExit.signal, first.stderr()).toBe('SIGKILL');
    const storedAtKill = await countStored();
    expect(storedAtKill).toBeLessThan(3000);

    const reopened = await openSpool({ dir, fsync: true });
    const depthAfterKill = reopened.depth();
    await reopened.close();
    const ackedEntries = 1000 - depthAfterKill;
    // The crash landed between append and ack: some stored entries are still in the spool.
    expect(storedAtKill).toBeGreaterThan(ackedEntries * 3);

    const second = runChild(0);
    const secondExit = await second.exited;
    expect(secondExit.code, second.stderr()).toBe(0);
    expect(second.lines.at(-1)).toMatchObject({ done: true, drainedTotal: depthAfterKill });

    const stored = await storedEvents(store, 'orders-crash-');
    expect(stored).toHaveLength(1000 * 3);
    expectExactlyOnceInOrder(stored, entries);
    // One drainer appends in spool order, so the global log follows the spool across streams too.
    const { rows } = await store.db.query<{ event_id: string }>(
      `SELECT event_id::text AS event_id FROM strangler_events WHERE stream_id LIKE 'orders-crash-%' ORDER BY global_position`,
    );
    expect(rows.map((r) => r.event_id)).toEqual(spoolOrder);
  });
});

/** Event ids in the order the spool holds them (concurrent writers interleave streams). */
async function spooledOrder(dir: string): Promise<string[]> {
  const spool = await openSpool({ dir, fsync: true });
  try {
    return (await spool.peek(Number.MAX_SAFE_INTEGER)).flatMap((s) => s.entry.events.map((e) => e.id));
  } finally {
    await spool.close();
  }
}
