import { crc32 } from 'node:zlib';
import type { SpoolEntry } from './types.ts';

/**
 * One spool record: `<byte length of JSON, decimal>\t<crc32 of JSON, 8 hex>\t<JSON>\n`.
 * Plain text, so an operator can read a spool with `cut -f3`; the length and checksum let
 * a reader tell a complete record from a torn write without trusting the newline.
 */
export function encodeRecord(entry: SpoolEntry): Buffer {
  const json = Buffer.from(JSON.stringify(entry), 'utf8');
  const header = Buffer.from(`${json.length}\t${hex8(crc32(json))}\t`, 'latin1');
  return Buffer.concat([header, json, NEWLINE]);
}

export type Decoded =
  | { kind: 'ok'; entry: SpoolEntry; end: number }
  /** The buffer ends inside the record: read more, or at end of file it is a torn tail. */
  | { kind: 'incomplete'; need?: number }
  | { kind: 'bad'; reason: string };

const NEWLINE = Buffer.from('\n');
const MAX_LENGTH_DIGITS = 10;
const TAB = 0x09;

/** Decodes the record starting at `offset` of `buf` (offsets are relative to `buf`). */
export function decodeRecord(buf: Buffer, offset: number): Decoded {
  let i = offset;
  let length = 0;
  for (; ; i++) {
    if (i >= buf.length) return { kind: 'incomplete' };
    const c = buf[i]!;
    if (c === TAB && i > offset) break;
    if (c < 0x30 || c > 0x39 || i - offset >= MAX_LENGTH_DIGITS)
      return { kind: 'bad', reason: 'record header does not start with a decimal length' };
    length = length * 10 + (c - 0x30);
  }
  const crcStart = i + 1;
  const jsonStart = crcStart + 9;
  const end = jsonStart + length + 1;
  if (buf.length < jsonStart) return { kind: 'incomplete' };
  const crcText = buf.toString('latin1', crcStart, crcStart + 8);
  if (!/^[0-9a-f]{8}$/.test(crcText) || buf[crcStart + 8] !== TAB) return { kind: 'bad', reason: 'record header has no crc32' };
  if (buf.length < end) return { kind: 'incomplete', need: end - offset };
  if (buf[end - 1] !== 0x0a) return { kind: 'bad', reason: `record of ${length} bytes does not end in a newline` };
  const json = buf.subarray(jsonStart, end - 1);
  if (hex8(crc32(json)) !== crcText) return { kind: 'bad', reason: 'crc32 does not match the record' };
  let entry: unknown;
  try {
    entry = JSON.parse(json.toString('utf8'));
  } catch {
    return { kind: 'bad', reason: 'record is not valid JSON' };
  }
  const why = entryProblem(entry);
  if (why) return { kind: 'bad', reason: why };
  return { kind: 'ok', entry: entry as SpoolEntry, end };
}

/** What is wrong with a would-be entry, or undefined when it can be spooled and drained. */
export function entryProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'entry is not an object';
  const e = value as Partial<SpoolEntry>;
  if (typeof e.streamId !== 'string' || e.streamId === '') return 'entry has no streamId';
  if (!Array.isArray(e.events) || e.events.length === 0) return `entry for ${e.streamId} has no events`;
  for (const ev of e.events) {
    if (typeof ev !== 'object' || ev === null || typeof ev.id !== 'string' || ev.id === '')
      return `an event of ${e.streamId} has no id (spooled events need ids so a re-append is a no-op)`;
    if (typeof ev.type !== 'string' || ev.type === '') return `event ${ev.id} of ${e.streamId} has no type`;
  }
  if (e.expected === undefined) return `entry for ${e.streamId} has no expected state (use 'any')`;
  if (typeof e.spooledAt !== 'string') return `entry for ${e.streamId} has no spooledAt`;
  return undefined;
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}
