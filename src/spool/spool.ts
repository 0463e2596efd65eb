import fsp, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { lockDataDir } from '../lock/dataDirLock.ts';
import { silentLogger, type Logger } from '../logging/logger.ts';
import { writeCursor, CURSOR_FILE, type Cursor } from './cursor.ts';
import { SpoolUnavailableError } from './errors.ts';
import { syncDir } from './fsync.ts';
import { recoverSpool } from './openSegments.ts';
import { encodeRecord, entryProblem } from './record.ts';
import { readRecords, segmentPath } from './segments.ts';
import type { Spool, SpooledEntry, SpoolEntry, SpoolPosition, SpoolStats } from './types.ts';

export interface OpenSpoolOptions {
  /** A directory on a persistent volume; created when missing. */
  dir: string;
  /** fdatasync every write batch and fsync the directory on file changes. Turn off only for tests. */
  fsync?: boolean;
  /** Start a new segment file once the current one is at least this large. */
  segmentBytes?: number;
  logger?: Logger;
}

/**
 * Opens the spool in `dir` for this process alone: a second sidecar appending to the same
 * segments (or draining them) would interleave records and move the cursor under the first.
 * The directory is locked (strangler.lock) until close().
 */
export async function openSpool(opts: OpenSpoolOptions): Promise<Spool> {
  const logger = opts.logger ?? silentLogger();
  const lock = lockDataDir(opts.dir, {
    purpose: 'spool',
    hint: 'give each sidecar a spool directory of its own (eventStore.spool.path)',
    warn: (line) => logger.warn(line),
  });
  let spool: Spool;
  try {
    spool = await openSpoolFiles(opts);
  } catch (err) {
    lock.release();
    throw err;
  }
  return {
    ...spool,
    async close() {
      try {
        await spool.close();
      } finally {
        lock.release();
      }
    },
  };
}

interface Pending {
  record: Buffer;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Opens (or creates) the durable spool in `dir`: checks its files, cuts a torn last
 * record, and refuses to start on corruption anywhere else (SpoolCorruptError).
 *
 * One writer queue: concurrent write() calls that arrive while a batch is being synced
 * are written together with one write and one fdatasync (group commit). peek()/ack() are
 * for a single consumer, the drainer.
 */
async function openSpoolFiles(opts: OpenSpoolOptions): Promise<Spool> {
  const dir = path.resolve(opts.dir);
  const fsync = opts.fsync ?? true;
  const segmentBytes = opts.segmentBytes ?? 64 * 1024 * 1024;
  const logger = opts.logger ?? silentLogger();

  await fsp.mkdir(dir, { recursive: true });
  await fsp.rm(path.join(dir, `${CURSOR_FILE}.tmp`), { force: true });
  const recovered = await recoverSpool(dir, fsync, logger);

  let cursor: Cursor = recovered.cursor;
  /** Sizes of the live segments (synced record boundaries), cursor segment first, active last. */
  const sizes = new Map(recovered.segments.map((s) => [s.n, s.size]));
  let activeN = recovered.segments.at(-1)?.n ?? cursor.segment;
  if (!sizes.has(activeN)) await createSegment(activeN);
  let active: FileHandle = await fsp.open(segmentPath(dir, activeN), 'r+');
  let cursorSeq = 0;
  let nextSeq = recovered.depth;
  const stats: SpoolStats = { writes: 0, flushes: 0, syncs: 0, bytes: 0 };
  let pending: Pending[] = [];
  let flushQueued = false;
  let broken: SpoolUnavailableError | undefined;
  let closed = false;
  let lane: Promise<void> = Promise.resolve();

  if (recovered.depth > 0) logger.info({ dir, depth: recovered.depth, cursor }, 'spool: opened with undrained entries');

  /** Runs file work one task at a time: writes, cursor moves and rotations never interleave. */
  function serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = lane.then(fn);
    lane = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  async function createSegment(n: number): Promise<void> {
    const fh = await fsp.open(segmentPath(dir, n), 'wx');
    await fh.close();
    await syncDir(dir, fsync);
    sizes.set(n, 0);
  }

  async function switchTo(n: number): Promise<void> {
    await createSegment(n);
    const next = await fsp.open(segmentPath(dir, n), 'r+');
    await active.close();
    active = next;
    activeN = n;
  }

  async function flush(): Promise<void> {
    flushQueued = false;
    const batch = pending;
    pending = [];
    if (batch.length === 0) return;
    try {
      if (broken) throw broken;
      if (sizes.get(activeN)! >= segmentBytes) await switchTo(activeN + 1);
      const buf = Buffer.concat(batch.map((p) => p.record));
      const start = sizes.get(activeN)!;
      for (let done = 0; done < buf.length;) {
        const { bytesWritten } = await active.write(buf, done, buf.length - done, start + done);
        done += bytesWritten;
      }
      if (fsync) {
        await active.datasync();
        stats.syncs++;
      }
      sizes.set(activeN, start + buf.length);
      nextSeq += batch.length;
      stats.flushes++;
      stats.writes += batch.length;
      stats.bytes += buf.length;
    } catch (err) {
      // After a failed write or fsync the file's state is unknown (the kernel may have
      // dropped the dirty pages): accept nothing more until a restart re-checks the files.
      if (!broken) {
        broken = new SpoolUnavailableError(
          `The spool in ${dir} failed a write (${(err as Error).message}); restart the sidecar so the spool re-checks its files.`,
          err,
        );
        logger.error({ err, dir }, 'spool: write failed; refusing further writes until restart');
      }
      for (const p of batch) p.reject(broken);
      return;
    }
    for (const p of batch) p.resolve();
  }

  /** Everything drained: start a fresh segment so the spool does not grow forever. */
  async function rotateIfEmpty(): Promise<void> {
    if (nextSeq !== cursorSeq || sizes.get(activeN) === 0 || broken) return;
    const old = activeN;
    await switchTo(old + 1);
    await writeCursor(dir, { segment: activeN, offset: 0 }, fsync);
    cursor = { segment: activeN, offset: 0 };
    await fsp.rm(segmentPath(dir, old), { force: true });
    sizes.delete(old);
    await syncDir(dir, fsync);
  }

  async function moveCursor(position: SpoolPosition): Promise<void> {
    if (position.seq < cursorSeq) return;
    if (position.seq >= nextSeq || !sizes.has(position.segment)) {
      throw new Error(`spool: ack of unknown position ${JSON.stringify(position)}; pass a position from peek()`);
    }
    let next: Cursor = { segment: position.segment, offset: position.end };
    // A segment read to its end is done: point at the next one so the old file can go.
    while (next.segment !== activeN && next.offset === sizes.get(next.segment)) next = { segment: next.segment + 1, offset: 0 };
    await writeCursor(dir, next, fsync);
    cursor = next;
    cursorSeq = position.seq + 1;
    let removed = false;
    for (const n of [...sizes.keys()]) {
      if (n >= cursor.segment) continue;
      await fsp.rm(segmentPath(dir, n), { force: true });
      sizes.delete(n);
      removed = true;
    }
    if (removed) await syncDir(dir, fsync);
    await rotateIfEmpty();
  }

  return {
    dir,
    write(entry: SpoolEntry): Promise<void> {
      if (closed) return Promise.reject(new SpoolUnavailableError(`The spool in ${dir} is closed.`));
      if (broken) return Promise.reject(broken);
      const problem = entryProblem(entry);
      if (problem) return Promise.reject(new TypeError(`Cannot spool this entry: ${problem}.`));
      const record = encodeRecord(entry);
      return new Promise<void>((resolve, reject) => {
        pending.push({ record, resolve, reject });
        if (!flushQueued) {
          flushQueued = true;
          void serial(flush);
        }
      });
    },
    depth: () => nextSeq - cursorSeq,
    async peek(max: number): Promise<SpooledEntry[]> {
      const out: SpooledEntry[] = [];
      const limit = Math.min(max, nextSeq - cursorSeq);
      let seq = cursorSeq;
      for (let n = cursor.segment, from = cursor.offset; out.length < limit && sizes.has(n); n++, from = 0) {
        const records = await readRecords(segmentPath(dir, n), from, sizes.get(n)!, limit - out.length);
        for (const r of records) out.push({ entry: r.entry, position: { segment: n, offset: r.offset, end: r.end, seq: seq++ } });
      }
      return out;
    },
    ack: (position: SpoolPosition) => serial(() => moveCursor(position)),
    stats: () => ({ ...stats }),
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await serial(async () => {
        await active.close();
      });
    },
  };
}
