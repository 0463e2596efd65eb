import fsp from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSpool, SpoolCorruptError, type Spool } from '../../src/spool/index.ts';
import { encodeRecord } from '../../src/spool/record.ts';
import { spoolEntry, tempSpoolDir } from '../fixtures/spool/entries.ts';

const dirs: string[] = [];
const open: Spool[] = [];

async function fresh(opts: { fsync?: boolean; segmentBytes?: number } = {}): Promise<{ dir: string; spool: Spool }> {
  const dir = await tempSpoolDir();
  dirs.push(dir);
  const spool = await openSpool({ dir, fsync: opts.fsync ?? false, ...(opts.segmentBytes ? { segmentBytes: opts.segmentBytes } : {}) });
  open.push(spool);
  return { dir, spool };
}

async function reopen(dir: string, opts: { segmentBytes?: number } = {}): Promise<Spool> {
  const spool = await openSpool({ dir, fsync: false, ...opts });
  open.push(spool);
  return spool;
}

const segments = async (dir: string) => (await fsp.readdir(dir)).filter((f) => f.endsWith('.log')).sort();
const ns = async (spool: Spool, max = 1000) => (await spool.peek(max)).map((s) => (s.entry.events[0]!.data as { n: number }).n);

afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
  for (const d of dirs.splice(0)) await fsp.rm(d, { recursive: true, force: true });
});

describe('durable spool', () => {
  it('peek returns written entries oldest first and ack moves past them', async () => {
    const { spool } = await fresh();
    for (let n = 0; n < 5; n++) await spool.write(spoolEntry('orders-1', n));
    expect(spool.depth()).toBe(5);
    const first = await spool.peek(2);
    expect(first.map((s) => s.entry.events[0]!.data)).toEqual([
      { n: 0, i: 0 },
      { n: 1, i: 0 },
    ]);
    await spool.ack(first[1]!.position);
    expect(spool.depth()).toBe(3);
    expect(await ns(spool)).toEqual([2, 3, 4]);
    await spool.ack(first[0]!.position); // behind the cursor: nothing happens
    expect(spool.depth()).toBe(3);
  });

  it('reopening keeps undrained entries and the drain cursor', async () => {
    const { dir, spool } = await fresh();
    for (let n = 0; n < 6; n++) await spool.write(spoolEntry('orders-1', n));
    const peeked = await spool.peek(4);
    await spool.ack(peeked[3]!.position);
    await spool.close();
    const again = await reopen(dir);
    expect(again.depth()).toBe(2);
    expect(await ns(again)).toEqual([4, 5]);
    await again.write(spoolEntry('orders-1', 6));
    expect(await ns(again)).toEqual([4, 5, 6]);
  });

  it('cuts a torn last record at open and keeps the entries before it', async () => {
    const { dir, spool } = await fresh();
    for (let n = 0; n < 3; n++) await spool.write(spoolEntry('orders-1', n));
    await spool.close();
    const file = path.join(dir, (await segments(dir))[0]!);
    const goodSize = (await fsp.stat(file)).size;
    const torn = encodeRecord(spoolEntry('orders-1', 3));
    await fsp.appendFile(file, torn.subarray(0, Math.floor(torn.length / 2)));

    const again = await reopen(dir);
    expect(again.depth()).toBe(3);
    expect((await fsp.stat(file)).size).toBe(goodSize);
    await again.write(spoolEntry('orders-1', 4));
    expect(await ns(again)).toEqual([0, 1, 2, 4]);
  });

  it('cuts a complete last record whose checksum does not match', async () => {
    const { dir, spool } = await fresh();
    for (let n = 0; n < 2; n++) await spool.write(spoolEntry('orders-1', n));
    await spool.close();
    const file = path.join(dir, (await segments(dir))[0]!);
    const buf = await fsp.readFile(file);
    buf[buf.length - 5] = buf[buf.length - 5]! ^ 0x01; // inside the last record's JSON
    await fsp.writeFile(file, buf);
    const again = await reopen(dir);
    expect(await ns(again)).toEqual([0]);
  });

  it('refuses to open on corruption in the middle of a segment, naming the file and offset', async () => {
    const { dir, spool } = await fresh();
    for (let n = 0; n < 4; n++) await spool.write(spoolEntry('orders-1', n));
    const second = (await spool.peek(2))[1]!.position;
    await spool.close();
    const file = path.join(dir, (await segments(dir))[0]!);
    const buf = await fsp.readFile(file);
    buf[second.offset + 60] = buf[second.offset + 60]! ^ 0x01;
    await fsp.writeFile(file, buf);

    const err = await openSpool({ dir, fsync: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpoolCorruptError);
    expect((err as Error).message).toContain(file);
    expect((err as Error).message).toContain(`byte offset ${second.offset}`);
    expect((await fsp.readFile(file)).equals(buf)).toBe(true); // nothing was cut
  });

  it('refuses to open when a segment other than the last has a torn end', async () => {
    const { dir, spool } = await fresh({ segmentBytes: 1 });
    for (let n = 0; n < 3; n++) await spool.write(spoolEntry('orders-1', n));
    await spool.close();
    const files = await segments(dir);
    expect(files).toHaveLength(3);
    const first = path.join(dir, files[0]!);
    await fsp.appendFile(first, '12\tdead');
    await expect(openSpool({ dir, fsync: false })).rejects.toThrow(first);
  });

  it('concurrent writes are all stored, in one order that survives a reopen', async () => {
    const { dir, spool } = await fresh({ fsync: true });
    await Promise.all(Array.from({ length: 200 }, (_, n) => spool.write(spoolEntry(`orders-${n % 7}`, n))));
    const order = await ns(spool);
    expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, n) => n));
    await spool.close();
    expect(await ns(await reopen(dir))).toEqual(order);
  });

  it('group commit: writers that wait on each write still share fsyncs', async () => {
    const { spool } = await fresh({ fsync: true });
    // 20 writers, each awaiting its previous write before the next: a write that arrives
    // while a batch is syncing joins the next batch instead of waiting for a sync of its own.
    await Promise.all(
      Array.from({ length: 20 }, async (_, w) => {
        for (let i = 0; i < 10; i++) await spool.write(spoolEntry(`orders-${w}`, w * 10 + i));
      }),
    );
    const stats = spool.stats();
    expect(stats.writes).toBe(200);
    expect(stats.syncs).toBe(stats.flushes);
    expect(stats.syncs).toBeLessThanOrEqual(200 / 5);
    expect(spool.depth()).toBe(200);
  });

  it('each write resolves only after its own fsync when writes come one at a time', async () => {
    const { spool } = await fresh({ fsync: true });
    for (let n = 0; n < 3; n++) await spool.write(spoolEntry('orders-1', n));
    expect(spool.stats()).toMatchObject({ writes: 3, syncs: 3 });
  });

  it('rolls over to a new segment past segmentBytes and deletes segments once drained', async () => {
    const { dir, spool } = await fresh({ segmentBytes: 600 });
    for (let n = 0; n < 10; n++) await spool.write(spoolEntry('orders-1', n));
    const before = await segments(dir);
    expect(before.length).toBeGreaterThan(2);
    const all = await spool.peek(100);
    expect(all).toHaveLength(10);
    // Drain up to an entry in the second-to-last segment: older segments go.
    const lastSegment = all.at(-1)!.position.segment;
    const inPrevious = all.filter((s) => s.position.segment === lastSegment - 1).at(-1)!;
    await spool.ack(inPrevious.position);
    expect(await segments(dir)).toEqual(before.slice(-1));
    expect(await ns(spool)).toEqual(
      all.filter((s) => s.position.segment === lastSegment).map((s) => (s.entry.events[0]!.data as { n: number }).n),
    );
  });

  it('once everything is drained the files are rotated away so the spool does not grow', async () => {
    const { dir, spool } = await fresh();
    for (let n = 0; n < 5; n++) await spool.write(spoolEntry('orders-1', n));
    const all = await spool.peek(10);
    await spool.ack(all.at(-1)!.position);
    expect(spool.depth()).toBe(0);
    const files = await segments(dir);
    expect(files).toHaveLength(1);
    expect((await fsp.stat(path.join(dir, files[0]!))).size).toBe(0);
    expect(JSON.parse(await fsp.readFile(path.join(dir, 'cursor.json'), 'utf8'))).toEqual({ segment: 2, offset: 0 });

    await spool.write(spoolEntry('orders-1', 5));
    await spool.close();
    const again = await reopen(dir);
    expect(await ns(again)).toEqual([5]);
  });

  it('refuses entries whose events have no id', async () => {
    const { spool } = await fresh();
    const entry = spoolEntry('orders-1', 0);
    await expect(spool.write({ ...entry, events: [{ type: 'OrderPlaced', data: {} } as never] })).rejects.toThrow(/has no id/);
    expect(spool.depth()).toBe(0);
  });

  it('refuses writes after close', async () => {
    const { spool } = await fresh();
    const inFlight = spool.write(spoolEntry('orders-1', 0));
    await spool.close();
    await expect(inFlight).resolves.toBeUndefined();
    await expect(spool.write(spoolEntry('orders-1', 1))).rejects.toThrow(/closed/);
  });
});
