/**
 * Timestamps are microseconds since the epoch (bigint), written as UTC wall-clock text
 * (`2024-03-02 01:01:07.000010`) into DATETIME(6) / TIMESTAMP(6) WITHOUT TIME ZONE and
 * rendered in JSON as `2024-03-02T01:01:07.000010Z` (always six fractional digits).
 */

/** Current time in epoch microseconds. Injected into the app so tests can pin it. */
export type Clock = () => bigint;

// The wall clock read once, advanced by the monotonic high-resolution timer: real
// microsecond timestamps (not always ending in 000, so they exercise the drivers'
// differing fraction formats) that never go backwards within the process. Mixing
// Date.now() with hrtime's sub-millisecond digits did: the two do not tick over together.
const anchorMicros = BigInt(Date.now()) * 1000n;
const anchorHr = process.hrtime.bigint();
export const systemClock: Clock = () => anchorMicros + (process.hrtime.bigint() - anchorHr) / 1000n;

/** Epoch microseconds → `YYYY-MM-DD HH:MM:SS.ffffff` (UTC), a literal both databases accept. */
export function toDbTimestamp(micros: bigint): string {
  const seconds = micros / 1_000_000n;
  const fraction = micros % 1_000_000n;
  const iso = new Date(Number(seconds) * 1000).toISOString(); // YYYY-MM-DDTHH:MM:SS.000Z
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${String(fraction).padStart(6, '0')}`;
}

const DB_TIMESTAMP = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?$/;

/**
 * Driver text → ISO 8601 UTC. PostgreSQL trims trailing zeros (`…07.00001`, or no fraction
 * at all) where MariaDB prints `…07.000010`: both render as `…T01:01:07.000010Z`.
 */
export function isoFromDb(text: string): string {
  const m = DB_TIMESTAMP.exec(text);
  if (!m) throw new Error(`Unexpected timestamp value from the database: "${text}"`);
  return `${m[1]}T${m[2]}.${(m[3] ?? '').padEnd(6, '0')}Z`;
}
