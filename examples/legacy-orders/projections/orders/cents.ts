/**
 * Money as bigint cents, parsed from and printed to decimal text. Never a float: a float
 * sum of 0.10 + 0.20 is 0.30000000000000004, and verify compares the stored digits.
 */

// Digits beyond the second decimal are accepted only when zero (NUMERIC without a scale
// prints `12.500`); anything that would round is refused rather than silently changed.
const DECIMAL = /^(-)?(\d+)(?:\.(\d+))?$/;

/** "12.34", "12.5", "12", 12.5 (a JSON number) → cents; undefined for anything else. */
export function parseCents(value: unknown): bigint | undefined {
  let text: string;
  if (typeof value === 'string') text = value.trim();
  else if (typeof value === 'number' && Number.isFinite(value)) text = String(value);
  else if (typeof value === 'bigint') return value * 100n;
  else return undefined;
  const m = DECIMAL.exec(text);
  if (!m) return undefined;
  const frac = m[3] ?? '';
  if (frac.length > 2 && !/^0+$/.test(frac.slice(2))) return undefined;
  const cents = BigInt(m[2] ?? '0') * 100n + BigInt(frac.slice(0, 2).padEnd(2, '0'));
  return m[1] ? -cents : cents;
}

/** 1234n → "12.34", -5n → "-0.05". */
export function formatCents(cents: bigint): string {
  const sign = cents < 0n ? '-' : '';
  const abs = cents < 0n ? -cents : cents;
  return `${sign}${abs / 100n}.${String(abs % 100n).padStart(2, '0')}`;
}
