const TIMESTAMP = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?(Z|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * Timestamp text from an event or a driver → `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC, six
 * fractional digits). PostgreSQL prints `…07.00001` or `…07.00001+00`, events carry
 * `…07.000010Z`: equal instants must compare equal as text. Undefined when unparseable.
 */
export function normalizeTimestamp(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const m = TIMESTAMP.exec(value.trim());
  if (!m) return undefined;
  const fraction = (m[3] ?? '').padEnd(6, '0');
  const offset = m[4];
  if (offset === undefined || offset === 'Z' || /^[+-]00(?::?00)?$/.test(offset)) return `${m[1]}T${m[2]}.${fraction}Z`;
  // A non-zero offset: shift whole seconds with Date (exact), keep the microseconds as text.
  const iso = offset.length === 3 ? `${offset}:00` : offset.includes(':') ? offset : `${offset.slice(0, 3)}:${offset.slice(3)}`;
  const ms = Date.parse(`${m[1]}T${m[2]}${iso}`);
  if (Number.isNaN(ms)) return undefined;
  return `${new Date(ms).toISOString().slice(0, 19)}.${fraction}Z`;
}
