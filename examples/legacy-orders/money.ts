/**
 * Money is integer cents in a bigint, from request to SQL parameter: a float sum of
 * 0.10 + 0.20 is 0.30000000000000004, and reconciliation compares the stored digits.
 */

/** DECIMAL(12,2) holds at most 9 999 999 999.99. */
export const MAX_CENTS = 999_999_999_999n;

const DECIMAL = /^(\d{1,10})(?:\.(\d{1,2}))?$/;

/**
 * Parses a non-negative amount with at most two decimals, given as a JSON number (`12.5`)
 * or a string (`"12.50"`). Returns undefined for anything else (negative, `1e3`, `0.125`).
 */
export function parseCents(value: unknown): bigint | undefined {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'number' && Number.isFinite(value)) text = String(value);
  else return undefined;
  const m = DECIMAL.exec(text);
  if (!m) return undefined;
  const whole = m[1] ?? '0';
  const frac = (m[2] ?? '').padEnd(2, '0');
  return BigInt(whole) * 100n + BigInt(frac);
}

/** 1234n → "12.34"; the text both databases accept for DECIMAL(12,2) and print back. */
export function formatCents(cents: bigint): string {
  const sign = cents < 0n ? '-' : '';
  const abs = cents < 0n ? -cents : cents;
  return `${sign}${abs / 100n}.${String(abs % 100n).padStart(2, '0')}`;
}

/** Reads a DECIMAL(12,2) the driver handed back as text ("12.50", "0.00", "7"). */
export function centsFromDb(text: string): bigint {
  const cents = parseCents(text.trim());
  if (cents === undefined) throw new Error(`Unexpected DECIMAL value from the database: "${text}"`);
  return cents;
}
