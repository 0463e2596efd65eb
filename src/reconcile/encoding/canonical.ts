import type { ColumnPlan, ColumnRule } from './kinds.ts';

/**
 * Canonical text of one value, per kind. Drivers hand values over as the server's text
 * (BIGINT, DECIMAL, timestamps, JSON), as JS numbers/booleans (int4, bool on pg) or as
 * Buffers (binary columns on mysql2, bytea on pg); every form of the same logical value
 * comes out as the same string here. `null` = SQL NULL. A value that does not parse as its
 * kind comes back as `{ raw }`: it is encoded under its own tag so the row differs.
 */
export type Canonical = string | Buffer | null | { raw: string };

export function canonicalValue(plan: ColumnPlan, value: unknown): Canonical {
  if (value === null || value === undefined) return null;
  let v: unknown = value;
  if (plan.rules.length && (typeof v === 'string' || Buffer.isBuffer(v))) {
    const s = applyRules(typeof v === 'string' ? v : v.toString('utf8'), plan.rules);
    if (s === null) return null;
    v = s;
  }
  switch (plan.kind) {
    case 'string':
      return typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
    case 'integer':
      return canonicalInteger(v);
    case 'decimal':
      return canonicalDecimal(v, plan.scale);
    case 'float':
      return canonicalFloat(v, plan.digits);
    case 'bool':
      return canonicalBool(v);
    case 'date':
      return canonicalDate(v);
    case 'timestamp':
      return canonicalTimestamp(v, plan.fraction);
    case 'json':
      return canonicalJson(v);
    case 'uuid':
      return canonicalUuid(v);
    case 'bytes':
      return canonicalBytes(v);
  }
}

export function applyRules(s: string, rules: readonly ColumnRule[]): string | null {
  let out = s;
  for (const r of rules) {
    if (r === 'trim') out = out.trim();
    else if (r === 'rtrim') out = out.replace(/[ \t\r\n]+$/, '');
    else if (r === 'lowercase') out = out.toLowerCase();
  }
  return rules.includes('empty_as_null') && out === '' ? null : out;
}

const raw = (v: unknown): { raw: string } => ({ raw: Buffer.isBuffer(v) ? v.toString('hex') : String(v) });

const INTEGER = /^\s*([+-]?)0*(\d+)\s*$/;

export function canonicalInteger(v: unknown): Canonical {
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (typeof v === 'number') return Number.isSafeInteger(v) ? String(v) : raw(v);
  const m = INTEGER.exec(String(v));
  if (!m) return raw(v);
  const digits = m[2]!;
  return digits === '0' || m[1] !== '-' ? digits : `-${digits}`;
}

const DECIMAL = /^\s*([+-]?)(\d*)(?:\.(\d*))?\s*$/;

/** "12.5" at scale 2 → "12.50"; "-0.00" → "0.00"; more digits than the scale keep them (so 1.005 ≠ 1.00). */
export function canonicalDecimal(v: unknown, scale: number): Canonical {
  if (typeof v === 'number' && !Number.isFinite(v)) return raw(v);
  const text = typeof v === 'number' ? numberText(v) : String(v);
  const m = DECIMAL.exec(text);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return raw(v);
  const int = m[2]!.replace(/^0+(?=\d)/, '') || '0';
  let frac = (m[3] ?? '').replace(/0+$/, '');
  if (frac.length < scale) frac = frac.padEnd(scale, '0');
  const zero = /^0*$/.test(int + frac);
  const sign = m[1] === '-' && !zero ? '-' : '';
  return frac.length ? `${sign}${int}.${frac}` : `${sign}${int}`;
}

/** A JS number's exact decimal digits without exponent notation (1e21 → "1000000000000000000000"). */
function numberText(n: number): string {
  const s = String(n);
  if (!/e/i.test(s)) return s;
  return n.toLocaleString('en-US', { useGrouping: false, maximumFractionDigits: 20 });
}

/** Floats compare at the given significant digits, in exponent form: 0.1 + 0.2 ≈ 0.3 at 15 digits. */
export function canonicalFloat(v: unknown, digits: number): Canonical {
  const n = typeof v === 'number' ? v : Number(String(v).trim());
  if (Number.isNaN(n)) return String(v).trim() === 'NaN' ? 'NaN' : raw(v);
  if (!Number.isFinite(n)) return n > 0 ? 'Infinity' : '-Infinity';
  if (n === 0) return '0';
  return n.toExponential(digits - 1).replace(/\.?0+e/, 'e');
}

export function canonicalBool(v: unknown): Canonical {
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (typeof v === 'number') return v === 0 ? '0' : v === 1 ? '1' : raw(v);
  if (Buffer.isBuffer(v) && v.length === 1) return v[0] === 0 ? '0' : v[0] === 1 ? '1' : raw(v); // BIT(1)
  const s = String(v).trim().toLowerCase();
  if (s === '1' || s === 't' || s === 'true') return '1';
  if (s === '0' || s === 'f' || s === 'false') return '0';
  return raw(v);
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

export function canonicalDate(v: unknown): Canonical {
  const s = String(v).trim();
  const m = DATE.exec(s) ?? /^(\d{4})-(\d{2})-(\d{2})[ T]00:00:00(?:\.0*)?(?:Z|[+-]00(?::?00)?)?$/.exec(s);
  return m ? `${m[1]}-${m[2]}-${m[3]}` : raw(v);
}

// "2024-03-02 01:01:07.00001", "2024-03-02T01:01:07.000010Z", "2024-03-02 02:01:07+01",
// "2024-03-02 01:01:07.5-03:30" (pg timestamptz text in a non-UTC session).
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?\s*(Z|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?)?$/i;

/**
 * UTC, ISO form, exactly `fraction` fractional digits (truncated, as MariaDB stores a
 * value with more digits than the column keeps). A value without a zone is taken as UTC
 * wall-clock time: DATETIME and `timestamp without time zone` hold no zone, and the
 * legacy service and the projections write UTC (MySQL TIMESTAMP is read in a +00:00 session).
 */
// The shape drivers hand over for DATETIME / `timestamp without time zone` (no zone): a
// string slice is enough, and it is what a reconciliation of a million rows spends most on.
const WALL_CLOCK = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?$/;

export function canonicalTimestamp(v: unknown, fraction: number): Canonical {
  const s = typeof v === 'string' ? v : String(v).trim();
  if (WALL_CLOCK.test(s)) {
    if (fraction === 0) return `${s.slice(0, 10)}T${s.slice(11, 19)}Z`;
    const frac = s.length > 20 ? s.slice(20, 20 + fraction) : '';
    return `${s.slice(0, 10)}T${s.slice(11, 19)}.${frac.length === fraction ? frac : frac.padEnd(fraction, '0')}Z`;
  }
  const m = TIMESTAMP.exec(s.trim());
  if (!m) return raw(v);
  let [y, mo, d, h, mi, sec] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  const zone = m[8];
  if (zone && zone.toUpperCase() !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const parts = zone.slice(1).replace(/:/g, '');
    const offsetS = Number(parts.slice(0, 2)) * 3600 + Number(parts.slice(2, 4) || 0) * 60 + Number(parts.slice(4, 6) || 0);
    // Not Date.UTC(y, …): it maps years 0–99 to 1900–1999 ('0050-01-01 00:30:00+01' came out in 1949).
    const t = new Date(0);
    t.setUTCFullYear(y, mo - 1, d);
    t.setUTCHours(h, mi, sec - sign * offsetS);
    [y, mo, d, h, mi, sec] = [
      t.getUTCFullYear(),
      t.getUTCMonth() + 1,
      t.getUTCDate(),
      t.getUTCHours(),
      t.getUTCMinutes(),
      t.getUTCSeconds(),
    ];
  }
  const frac = (m[7] ?? '').padEnd(fraction, '0').slice(0, fraction);
  const p2 = (n: number) => String(n).padStart(2, '0');
  return `${String(y).padStart(4, '0')}-${p2(mo)}-${p2(d)}T${p2(h)}:${p2(mi)}:${p2(sec)}${fraction ? `.${frac}` : ''}Z`;
}

/**
 * Re-serialised with sorted keys and no insignificant white space (MariaDB keeps the text as
 * written, jsonb reorders it). Numbers keep their exact value as a normalised decimal
 * (1.50 = 15e-1 = 1.5): JSON.parse would round them to doubles, so 9007199254740993 and
 * 9007199254740992 (or 0.10000000000000000001 and 0.1) hashed alike, and jsonb keeps them exact.
 */
export function canonicalJson(v: unknown): Canonical {
  const text = Buffer.isBuffer(v) ? v.toString('utf8') : typeof v === 'string' ? v : JSON.stringify(v);
  try {
    const r = new JsonReader(text);
    const out = r.value();
    r.end();
    return out;
  } catch {
    return raw(v);
  }
}

const JSON_WS = /[ \t\n\r]*/y;
// eslint-disable-next-line no-control-regex -- JSON strings may not hold raw control characters (RFC 8259 §7)
const JSON_STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const JSON_NUMBER = /(-?)(0|[1-9]\d*)(?:\.(\d+))?(?:[eE]([+-]?\d+))?/y;
const JSON_LITERAL = /true|false|null/y;

/** A JSON text read straight into its canonical serialisation; throws on invalid JSON. */
class JsonReader {
  private at = 0;
  constructor(private readonly text: string) {}

  private match(re: RegExp): RegExpExecArray | null {
    re.lastIndex = this.at;
    const m = re.exec(this.text);
    if (m) this.at = re.lastIndex;
    return m;
  }

  private ws() {
    this.match(JSON_WS);
  }

  private take(ch: string): boolean {
    this.ws();
    if (this.text[this.at] !== ch) return false;
    this.at++;
    return true;
  }

  end() {
    this.ws();
    if (this.at !== this.text.length) throw new SyntaxError('trailing characters');
  }

  value(): string {
    this.ws();
    const c = this.text[this.at];
    if (c === '{') {
      this.at++;
      const members = new Map<string, string>(); // a repeated key: the last wins, as in JSON.parse and jsonb
      if (!this.take('}')) {
        do {
          this.ws();
          const k = this.match(JSON_STRING);
          if (!k || !this.take(':')) throw new SyntaxError('bad member');
          members.set(JSON.parse(k[0]) as string, this.value());
        } while (this.take(','));
        if (!this.take('}')) throw new SyntaxError('bad object');
      }
      return `{${[...members.keys()]
        .sort()
        .map((k) => `${JSON.stringify(k)}:${members.get(k)}`)
        .join(',')}}`;
    }
    if (c === '[') {
      this.at++;
      const items: string[] = [];
      if (!this.take(']')) {
        do items.push(this.value());
        while (this.take(','));
        if (!this.take(']')) throw new SyntaxError('bad array');
      }
      return `[${items.join(',')}]`;
    }
    if (c === '"') {
      const s = this.match(JSON_STRING);
      if (!s) throw new SyntaxError('bad string');
      return JSON.stringify(JSON.parse(s[0]) as string); // one spelling per text: \u00e9 = é
    }
    const n = this.match(JSON_NUMBER);
    if (n) return jsonNumber(n[1]!, n[2]!, n[3] ?? '', n[4] ?? '0');
    const l = this.match(JSON_LITERAL);
    if (l) return l[0];
    throw new SyntaxError('bad value');
  }
}

/** The exact value of a JSON number as one text: plain decimal, or d.ddde±n when that would need more than 20 padding zeros. */
function jsonNumber(sign: string, int: string, frac: string, expText: string): string {
  let digits = (int + frac).replace(/^0+/, '');
  if (!digits) return '0';
  const exp0 = Number(expText);
  if (!Number.isSafeInteger(exp0)) throw new RangeError('exponent out of range');
  const stripped = digits.replace(/0+$/, '');
  let exp = exp0 - frac.length + (digits.length - stripped.length); // value = digits × 10^exp
  digits = stripped;
  if (exp >= 0 && exp <= 20) return `${sign}${digits}${'0'.repeat(exp)}`;
  if (exp < 0 && -exp - digits.length <= 20) {
    const point = digits.length + exp;
    return point > 0 ? `${sign}${digits.slice(0, point)}.${digits.slice(point)}` : `${sign}0.${'0'.repeat(-point)}${digits}`;
  }
  exp += digits.length - 1;
  return `${sign}${digits[0]}${digits.length > 1 ? `.${digits.slice(1)}` : ''}e${exp < 0 ? '-' : '+'}${Math.abs(exp)}`;
}

const UUID = /^\{?([0-9a-f]{8})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{12})\}?$/i;

export function canonicalUuid(v: unknown): Canonical {
  if (Buffer.isBuffer(v) && v.length === 16) v = v.toString('hex'); // BINARY(16)
  const m = UUID.exec(String(v).trim());
  return m ? `${m[1]}-${m[2]}-${m[3]}-${m[4]}-${m[5]}`.toLowerCase() : raw(v);
}

/** Bytes as bytes: mysql2 gives Buffers, pg gives Buffers for bytea (or `\x…` text through raw parsers). */
export function canonicalBytes(v: unknown): Canonical {
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v);
  const s = String(v);
  if (/^\\x[0-9a-f]*$/i.test(s)) return Buffer.from(s.slice(2), 'hex');
  return Buffer.from(s, 'utf8');
}
