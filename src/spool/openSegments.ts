import fsp from 'node:fs/promises';
import type { Logger } from '../logging/logger.ts';
import { readCursor, type Cursor } from './cursor.ts';
import { SpoolCorruptError } from './errors.ts';
import { listSegments, scanSegment, segmentPath } from './segments.ts';

/** What the spool knows after checking its directory at open. */
export interface RecoveredSpool {
  cursor: Cursor;
  /** Segments from the cursor's on, ascending, with their sizes (record boundaries). */
  segments: { n: number; size: number }[];
  /** Records at or after the cursor. */
  depth: number;
}

/**
 * Checks every segment the drainer has not finished and finds the cursor's place.
 *
 * What must stay true: only a torn LAST record of the LAST segment is cut away (it was
 * never acknowledged to a writer: its fsync had not returned). Anything else unreadable
 * stops start-up with the file and offset, because skipping it would lose accepted commands.
 */
export async function recoverSpool(dir: string, fsync: boolean, logger: Logger): Promise<RecoveredSpool> {
  const stored = await readCursor(dir);
  const all = await listSegments(dir);
  const cursor: Cursor = stored ?? { segment: all[0] ?? 1, offset: 0 };

  // Drained segments a crash left behind (the cursor moved past them, the unlink did not happen).
  for (const n of all.filter((n) => n < cursor.segment)) {
    await fsp.rm(segmentPath(dir, n), { force: true });
    logger.info({ file: segmentPath(dir, n) }, 'spool: removed a segment drained before the last shutdown');
  }
  const live = all.filter((n) => n >= cursor.segment);
  if (live.length > 0 ? live[0] !== cursor.segment : cursor.offset > 0) {
    throw new SpoolCorruptError(
      segmentPath(dir, cursor.segment),
      cursor.offset,
      `the drain cursor points into this segment but the file is missing (next segment on disk: ${live[0] ?? 'none'})`,
    );
  }

  const segments: { n: number; size: number }[] = [];
  let depth = 0;
  for (const [i, n] of live.entries()) {
    const file = segmentPath(dir, n);
    if (i > 0 && n !== live[i - 1]! + 1) {
      throw new SpoolCorruptError(segmentPath(dir, live[i - 1]! + 1), 0, `segment file is missing between ${live[i - 1]} and ${n}`);
    }
    const scan = await scanSegment(file);
    let records = scan.records;
    let size = scan.size;
    if (!scan.ok) {
      const last = i === live.length - 1;
      if (!last || !scan.tail) throw new SpoolCorruptError(file, scan.offset, scan.reason);
      await truncate(file, scan.offset, fsync);
      logger.warn(
        { file, offset: scan.offset, cutBytes: scan.size - scan.offset, reason: scan.reason },
        'spool: cut a torn last record (a write interrupted before its fsync; its caller was never told it succeeded)',
      );
      size = scan.offset;
    }
    if (n === cursor.segment) {
      if (cursor.offset !== size && !records.some((r) => r.offset === cursor.offset)) {
        throw new SpoolCorruptError(file, cursor.offset, `the drain cursor is not at a record boundary (segment holds ${size} bytes)`);
      }
      records = records.filter((r) => r.offset >= cursor.offset);
    }
    depth += records.length;
    segments.push({ n, size });
  }
  return { cursor, segments, depth };
}

async function truncate(file: string, size: number, fsync: boolean): Promise<void> {
  const fh = await fsp.open(file, 'r+');
  try {
    await fh.truncate(size);
    if (fsync) await fh.sync();
  } finally {
    await fh.close();
  }
}
