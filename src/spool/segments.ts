import fsp from 'node:fs/promises';
import path from 'node:path';
import { decodeRecord } from './record.ts';
import type { SpoolEntry } from './types.ts';

const SEGMENT = /^spool-(\d{6,})\.log$/;

export function segmentName(n: number): string {
  return `spool-${String(n).padStart(6, '0')}.log`;
}

export function segmentPath(dir: string, n: number): string {
  return path.join(dir, segmentName(n));
}

/** Segment numbers present in `dir`, ascending. */
export async function listSegments(dir: string): Promise<number[]> {
  const names = await fsp.readdir(dir);
  return names
    .map((n) => SEGMENT.exec(n)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

export interface ScannedRecord {
  offset: number;
  end: number;
}

export type ScanResult =
  | { ok: true; records: ScannedRecord[]; size: number }
  /** Records before `offset` are good; what starts there is not a record. `tail`: nothing readable follows. */
  | { ok: false; records: ScannedRecord[]; size: number; offset: number; reason: string; tail: boolean };

/**
 * Reads a whole segment and checks every record. A bad record is a torn tail only when no
 * complete record follows it: a power cut mid-write leaves garbage at the end, never a
 * good record after a bad one, so good data after bad data means real corruption.
 */
export async function scanSegment(file: string): Promise<ScanResult> {
  const buf = await fsp.readFile(file);
  const records: ScannedRecord[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const d = decodeRecord(buf, pos);
    if (d.kind === 'ok') {
      records.push({ offset: pos, end: d.end });
      pos = d.end;
      continue;
    }
    const reason = d.kind === 'incomplete' ? `record is cut short (${buf.length - pos} bytes before end of file)` : d.reason;
    return { ok: false, records, size: buf.length, offset: pos, reason, tail: !goodRecordAfter(buf, pos) };
  }
  return { ok: true, records, size: buf.length };
}

function goodRecordAfter(buf: Buffer, from: number): boolean {
  for (let nl = buf.indexOf(0x0a, from); nl !== -1 && nl + 1 < buf.length; nl = buf.indexOf(0x0a, nl + 1)) {
    if (decodeRecord(buf, nl + 1).kind === 'ok') return true;
  }
  return false;
}

/**
 * Up to `max` records of one segment between byte offsets `from` and `until` (a record
 * boundary the writer has synced). Reads in chunks so a peek does not load a whole segment.
 */
export async function readRecords(
  file: string,
  from: number,
  until: number,
  max: number,
): Promise<{ entry: SpoolEntry; offset: number; end: number }[]> {
  const out: { entry: SpoolEntry; offset: number; end: number }[] = [];
  if (from >= until || max <= 0) return out;
  const fh = await fsp.open(file, 'r');
  try {
    let pos = from;
    let chunk = 256 * 1024;
    while (pos < until && out.length < max) {
      const len = Math.min(chunk, until - pos);
      const buf = Buffer.allocUnsafe(len);
      const { bytesRead } = await fh.read(buf, 0, len, pos);
      const data = buf.subarray(0, bytesRead);
      let at = 0;
      while (at < data.length && out.length < max) {
        const d = decodeRecord(data, at);
        if (d.kind === 'ok') {
          out.push({ entry: d.entry, offset: pos + at, end: pos + d.end });
          at = d.end;
        } else if (d.kind === 'incomplete' && bytesRead === len && pos + len < until) {
          if (at === 0) chunk = Math.max(chunk * 2, d.need ?? 0);
          break;
        } else {
          // Everything below `until` was synced and checked at open: this is damage since then.
          throw new Error(
            `spool file ${file} changed under the spool at byte offset ${pos + at}: ${d.kind === 'bad' ? d.reason : 'record cut short'}`,
          );
        }
      }
      pos += at;
    }
  } finally {
    await fh.close();
  }
  return out;
}
