import fsp from 'node:fs/promises';
import path from 'node:path';
import { SpoolCorruptError } from './errors.ts';
import { syncDir } from './fsync.ts';

/** The next undrained record: segment number and byte offset in it. */
export interface Cursor {
  segment: number;
  offset: number;
}

export const CURSOR_FILE = 'cursor.json';

/** The stored cursor, or undefined for a spool that was never drained. */
export async function readCursor(dir: string): Promise<Cursor | undefined> {
  const file = path.join(dir, CURSOR_FILE);
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let c: Partial<Cursor>;
  try {
    c = JSON.parse(text) as Partial<Cursor>;
  } catch {
    throw new SpoolCorruptError(file, 0, 'cursor is not valid JSON');
  }
  if (!Number.isSafeInteger(c.segment) || !Number.isSafeInteger(c.offset) || c.segment! < 1 || c.offset! < 0) {
    throw new SpoolCorruptError(file, 0, `cursor must be {"segment": n >= 1, "offset": n >= 0}, got ${text.trim()}`);
  }
  return { segment: c.segment!, offset: c.offset! };
}

/**
 * Replaces the cursor atomically: write a temp file, fsync it, rename over the old one,
 * fsync the directory. A crash leaves either the old cursor or the new one, never half.
 */
export async function writeCursor(dir: string, cursor: Cursor, fsync: boolean): Promise<void> {
  const file = path.join(dir, CURSOR_FILE);
  const tmp = `${file}.tmp`;
  const fh = await fsp.open(tmp, 'w');
  try {
    await fh.writeFile(JSON.stringify({ segment: cursor.segment, offset: cursor.offset }) + '\n');
    if (fsync) await fh.sync();
  } finally {
    await fh.close();
  }
  await fsp.rename(tmp, file);
  await syncDir(dir, fsync);
}
