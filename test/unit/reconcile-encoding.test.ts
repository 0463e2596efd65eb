/**
 * The canonical row encoding of reconciliation: every form in which a driver can hand over
 * the same logical value must encode to the same bytes, and any logical difference must
 * encode differently. The cross-database version of this (real MariaDB and PostgreSQL
 * tables) is test/int/reconcile-golden.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { planColumns, type PlanInput } from '../../src/reconcile/columns/planColumns.ts';
import type { ColumnInfo } from '../../src/reconcile/columns/describeTable.ts';
import {
  applyRules,
  canonicalBool,
  canonicalDecimal,
  canonicalFloat,
  canonicalInteger,
  canonicalJson,
  canonicalTimestamp,
  canonicalUuid,
  canonicalValue,
} from '../../src/reconcile/encoding/canonical.ts';
import { TAG, type ColumnKind, type ColumnPlan, type ColumnRule } from '../../src/reconcile/encoding/kinds.ts';
import { encodeRow, rowHash, sameCanonical } from '../../src/reconcile/encoding/rowEncoding.ts';

/** A one-column plan of a kind (defaults as planColumns would give for a typical column). */
function plan(kind: ColumnKind, over: Partial<ColumnPlan> = {}): ColumnPlan {
  return {
    legacy: 'c',
    readModel: 'c',
    kind,
    scale: 0,
    fraction: 6,
    digits: 15,
    rules: [],
    types: { legacy: 'x', readModel: 'x' },
    ...over,
  };
}

/** Hex of the sha256 of a one-column row. */
const hashOf = (p: ColumnPlan, v: unknown) => rowHash(encodeRow([p], [v]).bytes).toString('hex');

/** Every value of `forms` hashes alike (and at least two forms are given, so the check compares something). */
function expectSameHash(p: ColumnPlan, forms: readonly unknown[]) {
  expect(forms.length).toBeGreaterThan(1);
  const hashes = forms.map((v) => hashOf(p, v));
  for (let i = 1; i < forms.length; i++) expect(hashes[i], `${String(forms[0])} vs ${String(forms[i])}`).toBe(hashes[0]);
}

function expectDifferentHash(p: ColumnPlan, a: unknown, b: unknown) {
  expect(hashOf(p, a), `${String(a)} vs ${String(b)}`).not.toBe(hashOf(p, b));
}

describe('row encoding', () => {
  it("NULL, '' and the text 'NULL' encode differently", () => {
    const p = plan('string');
    const [nul, empty, text] = [null, '', 'NULL'].map((v) => encodeRow([p], [v]).bytes);
    expect(nul!.equals(empty!)).toBe(false);
    expect(nul!.equals(text!)).toBe(false);
    expect(empty!.equals(text!)).toBe(false);
    expect(nul![0]).toBe(TAG.null);
    expect(empty![0]).toBe(TAG.string);
    expectDifferentHash(p, null, '');
    expectDifferentHash(p, null, 'NULL');
    expectDifferentHash(p, '', 'NULL');
    // undefined (a value the driver did not return) is NULL, not a value
    expectSameHash(p, [null, undefined]);
  });

  it('lays out tag, 4-byte big-endian length and the bytes, so column boundaries cannot shift', () => {
    const p = plan('string');
    const { bytes } = encodeRow([p, plan('integer')], ['ab', '7']);
    expect([...bytes]).toEqual([TAG.string, 0, 0, 0, 2, 0x61, 0x62, TAG.integer, 0, 0, 0, 1, 0x37]);
    const twoCols = (a: string, b: string) => rowHash(encodeRow([p, p], [a, b]).bytes).toString('hex');
    expect(twoCols('ab', 'c')).not.toBe(twoCols('a', 'bc'));
    expect(twoCols('', 'x')).not.toBe(twoCols('x', ''));
  });

  it('a value that does not parse as its kind is kept under the raw tag, never equal to a parsed one', () => {
    const p = plan('integer');
    const r = encodeRow([p], ['abc']);
    expect(r.canon[0]).toEqual({ raw: 'abc' });
    expect(r.bytes[0]).toBe(TAG.raw);
    // the string "12" in a text column would be tagged S; an integer column's unparsable "12x" is R
    expectDifferentHash(p, '12x', '12');
    expect(sameCanonical(p, canonicalValue(p, '12'), { raw: '12' })).toBe(false);
  });

  it('emoji and other 4-byte UTF-8 text encodes as its UTF-8 bytes', () => {
    const p = plan('string');
    const { bytes, canon } = encodeRow([p], ['a😀']);
    expect(canon[0]).toBe('a😀');
    expect([...bytes]).toEqual([TAG.string, 0, 0, 0, 5, 0x61, 0xf0, 0x9f, 0x98, 0x80]); // length in bytes, not UTF-16 units
    // a driver that hands the column over as a Buffer of its UTF-8 bytes encodes the same
    expectSameHash(p, ['a😀', Buffer.from('a😀', 'utf8')]);
    expectDifferentHash(p, '😀', '😁');
    expectDifferentHash(p, '𝄞', '\uFFFD'); // not collapsed into a replacement character
    // no Unicode normalisation: precomposed é and e + combining accent are different bytes in both databases
    expectDifferentHash(p, '\u00e9', 'e\u0301');
  });
});

describe('integers', () => {
  it('BIGINT above 2^53 compares exactly', () => {
    expect(canonicalInteger('9007199254740993')).toBe('9007199254740993');
    expect(canonicalInteger('9007199254740993')).not.toBe(canonicalInteger('9007199254740992'));
    expectDifferentHash(plan('integer'), '9007199254740993', '9007199254740992');
    expectSameHash(plan('integer'), ['9007199254740993', 9007199254740993n, '+009007199254740993']);
    expectSameHash(plan('integer'), ['-9223372036854775808', -9223372036854775808n]);
    expectSameHash(plan('integer'), ['18446744073709551615', 18446744073709551615n]); // BIGINT UNSIGNED max
  });

  it('a JS number that is not a safe integer is not trusted (it may already have lost digits)', () => {
    expect(canonicalInteger(2 ** 53 + 2)).toEqual({ raw: String(2 ** 53 + 2) });
  });

  it('int4 as a JS number, as text, signs and zeros', () => {
    expectSameHash(plan('integer'), [42, '42', '042', ' 42 ', '+42', 42n]);
    expectSameHash(plan('integer'), [0, '-0', '000']);
    expectDifferentHash(plan('integer'), '-42', '42');
  });
});

describe('decimals', () => {
  const cases: [string, unknown, unknown, boolean][] = [
    ['12.5 = 12.50 at scale 2', '12.5', '12.50', true],
    ['-0.00 = 0.00', '-0.00', '0.00', true],
    ['-0 = 0.00', '-0', '0.00', true],
    ['1.005 ≠ 1.00 (extra digits are kept, not rounded away)', '1.005', '1.00', false],
    ['1.005 ≠ 1.01', '1.005', '1.01', false],
    ['-12.50 ≠ 12.50', '-12.50', '12.50', false],
    ['leading zeros', '007.10', '7.1', true],
    ['a JS number', 12.5, '12.50', true],
    ['an integer column value against a decimal', '12', '12.00', true],
    ['.5 = 0.50', '.5', '0.50', true],
    ['big values keep every digit', '9999999999.99', '9999999999.98', false],
    ['numbers past 2^53 as text are exact', '90071992547409.93', '90071992547409.92', false],
  ];
  it.each(cases)('%s', (_name, a, b, equal) => {
    const p = plan('decimal', { scale: 2 });
    expect(canonicalDecimal(a, 2) === canonicalDecimal(b, 2)).toBe(equal);
    if (equal) expectSameHash(p, [a, b]);
    else expectDifferentHash(p, a, b);
  });

  it('canonical text pads to the scale', () => {
    expect(canonicalDecimal('12.5', 2)).toBe('12.50');
    expect(canonicalDecimal('-0.00', 2)).toBe('0.00');
    expect(canonicalDecimal('1.005', 2)).toBe('1.005');
    expect(canonicalDecimal('3', 0)).toBe('3');
    expect(canonicalDecimal('x', 2)).toEqual({ raw: 'x' });
    expect(canonicalDecimal('.', 2)).toEqual({ raw: '.' });
  });
});

describe('floats', () => {
  it('double precision compares at 15 significant digits', () => {
    const p = plan('float', { digits: 15 });
    expectSameHash(p, [0.1 + 0.2, 0.3, '0.3', '0.30000000000000004', '3e-1']);
    expectSameHash(p, [1e300, '1e300', '1.0E+300']);
    expectSameHash(p, [0, -0, '0', '-0.0']);
    expectDifferentHash(p, 1.1, 1.2);
    expectDifferentHash(p, 1.00000000000001, 1); // differs in the 15th significant digit
    expectDifferentHash(p, -1.5, 1.5);
    expectDifferentHash(p, 'Infinity', '-Infinity');
    expectDifferentHash(p, 'NaN', 0);
  });

  it('single precision compares at 6 significant digits', () => {
    const p = plan('float', { digits: 6 });
    // a FLOAT read back as a double carries float noise past the 7th digit
    expectSameHash(p, [Math.fround(3.14159), 3.14159, '3.14159']);
    expectDifferentHash(p, 3.14159, 3.14158);
    expect(canonicalFloat(Math.fround(0.1), 6)).toBe(canonicalFloat(0.1, 6));
  });
});

describe('booleans', () => {
  it('true, t, 1, "1", "true" (and BIT(1)) are one value; false forms the other', () => {
    const p = plan('bool');
    expectSameHash(p, [true, 't', 1, '1', 'true', 'TRUE', Buffer.from([1])]);
    expectSameHash(p, [false, 'f', 0, '0', 'false', Buffer.from([0])]);
    expectDifferentHash(p, true, false);
    expect(canonicalBool(2)).toEqual({ raw: '2' });
    expect(canonicalBool('yes')).toEqual({ raw: 'yes' });
  });
});

describe('timestamps', () => {
  it('pg text, ISO UTC and an offset form of the same instant are equal at fraction 6', () => {
    const p = plan('timestamp', { fraction: 6 });
    const forms = [
      '2024-03-02 01:01:07.00001', // timestamp without time zone (UTC wall clock), pg drops trailing zeros
      '2024-03-02T01:01:07.000010Z',
      '2024-03-02 02:01:07.00001+01', // timestamptz text in a +01 session
      '2024-03-01 22:01:07.00001-03', // … in America/Sao_Paulo
      '2024-03-02 06:31:07.000010+05:30', // … in Asia/Kolkata
      '2024-03-02 01:01:07.000010', // MariaDB DATETIME(6) text
    ];
    expectSameHash(p, forms);
    for (const f of forms) expect(canonicalTimestamp(f, 6)).toBe('2024-03-02T01:01:07.000010Z');
  });

  it('one microsecond, one second or one hour of offset is a difference', () => {
    const p = plan('timestamp', { fraction: 6 });
    expectDifferentHash(p, '2024-03-02 01:01:07.000010', '2024-03-02 01:01:07.000011');
    expectDifferentHash(p, '2024-03-02 01:01:07', '2024-03-02 01:01:08');
    expectDifferentHash(p, '2024-03-02 02:01:07+01', '2024-03-02 02:01:07+02');
  });

  it('truncates (never rounds) to the plan fraction', () => {
    expect(canonicalTimestamp('2024-03-02 01:01:07.00001', 3)).toBe('2024-03-02T01:01:07.000Z');
    expect(canonicalTimestamp('2024-03-02 01:01:07.9999', 3)).toBe('2024-03-02T01:01:07.999Z');
    expect(canonicalTimestamp('2024-03-02 01:01:07.5', 0)).toBe('2024-03-02T01:01:07Z');
    expectSameHash(plan('timestamp', { fraction: 3 }), ['2024-03-02 01:01:07.00001', '2024-03-02T01:01:07.000999Z', '2024-03-02 01:01:07']);
    expectDifferentHash(plan('timestamp', { fraction: 3 }), '2024-03-02 01:01:07.000', '2024-03-02 01:01:07.001');
  });

  it('an offset moves the date across day, month and year boundaries', () => {
    expect(canonicalTimestamp('2024-01-01 03:00:00+05:30', 0)).toBe('2023-12-31T21:30:00Z');
    expect(canonicalTimestamp('2024-02-29 22:00:00-03', 6)).toBe('2024-03-01T01:00:00.000000Z');
    expect(canonicalTimestamp('2024-03-02 01:01:07.00001+00', 6)).toBe(canonicalTimestamp('2024-03-02T01:01:07.00001Z', 6));
  });

  it('a historical offset with seconds (pg prints LMT as +hh:mm:ss) and years below 100 keep the instant', () => {
    expect(canonicalTimestamp('1890-01-01 00:00:00-03:06:28', 0)).toBe('1890-01-01T03:06:28Z');
    expect(canonicalTimestamp('0050-01-01 00:30:00+01', 0)).toBe('0049-12-31T23:30:00Z');
  });

  it('what is not a timestamp stays raw', () => {
    expect(canonicalTimestamp('yesterday', 6)).toEqual({ raw: 'yesterday' });
  });
});

describe('dates', () => {
  it('a DATE and a midnight timestamp of it are the same date', () => {
    expectSameHash(plan('date'), ['2024-03-02', '2024-03-02 00:00:00', '2024-03-02T00:00:00.000Z']);
    expectDifferentHash(plan('date'), '2024-03-02', '2024-03-03');
  });
});

describe('JSON', () => {
  it('key order and insignificant white space do not matter', () => {
    const p = plan('json');
    expectSameHash(p, [
      '{"b":1,"a":[1,{"d":2,"c":3}]}',
      '{"a":[1,{"c":3,"d":2}],"b":1}',
      '{ "a" : [ 1, { "c": 3, "d": 2 } ], "b": 1 }',
      Buffer.from('{"a":[1,{"c":3,"d":2}],"b":1}'),
    ]);
  });

  it.each([
    ['a nested value', '{"a":[1,{"c":3,"d":2}],"b":1}', '{"a":[1,{"c":3,"d":9}],"b":1}'],
    ['array order', '{"a":[1,2]}', '{"a":[2,1]}'],
    ['a string "1" vs the number 1', '{"a":"1"}', '{"a":1}'],
    ['null vs a missing key', '{"a":null}', '{}'],
    ['key case', '{"a":1}', '{"A":1}'],
    ['an emoji in a string', '{"s":"😀"}', '{"s":"😁"}'],
    ['integers above 2^53', '{"n":9007199254740993}', '{"n":9007199254740992}'],
    ['decimals past double precision', '{"n":0.10000000000000000001}', '{"n":0.1}'],
    ['numbers beyond double range', '[1e400]', '[1e401]'],
    ['a huge number vs null', '[1e400]', '[null]'],
    ['a negative number', '[-1.5]', '[1.5]'],
  ])('value differences matter: %s', (_name, a, b) => {
    expectDifferentHash(plan('json'), a, b);
  });

  it('the same number written differently is the same value (jsonb prints numbers its own way)', () => {
    expectSameHash(plan('json'), ['{"n":1.5}', '{"n":1.50}', '{"n":15e-1}', '{"n":0.15E1}']);
    expectSameHash(plan('json'), ['[100]', '[1e2]', '[1E+2]', '[100.0]']);
    expectSameHash(plan('json'), ['[0]', '[-0]', '[0.0]']);
    expectSameHash(plan('json'), ['{"n":9007199254740993}', '{"n":9007199254740993.0}']);
  });

  it('string escapes are compared by the text they mean', () => {
    expectSameHash(plan('json'), ['{"s":"\\u00e9"}', '{"s":"é"}']);
    expectSameHash(plan('json'), ['{"s":"\\ud83d\\ude00"}', '{"s":"😀"}']);
  });

  it('invalid JSON stays raw', () => {
    expect(canonicalJson('{"a":')).toEqual({ raw: '{"a":' });
    expect(canonicalJson('{"a":1} x')).toEqual({ raw: '{"a":1} x' });
  });
});

describe('UUID and bytes', () => {
  it('upper and lower case, braces, no dashes and BINARY(16) are one uuid', () => {
    const id = '3f2504e0-4f89-11d3-9a0c-0305e82c3301';
    expectSameHash(plan('uuid'), [id, id.toUpperCase(), `{${id}}`, id.replaceAll('-', ''), Buffer.from(id.replaceAll('-', ''), 'hex')]);
    expect(canonicalUuid(id.toUpperCase())).toBe(id);
    expectDifferentHash(plan('uuid'), id, '3f2504e0-4f89-11d3-9a0c-0305e82c3302');
  });

  it('bytes compare as bytes, whether a Buffer or pg "\\x…" text', () => {
    expectSameHash(plan('bytes'), [Buffer.from([0, 0xff, 0x10]), '\\x00ff10', new Uint8Array([0, 0xff, 0x10])]);
    expectDifferentHash(plan('bytes'), Buffer.from([0, 0xff]), Buffer.from([0, 0xff, 0]));
    expectDifferentHash(plan('bytes'), Buffer.alloc(0), null);
  });
});

describe('rules', () => {
  const cases: [ColumnRule[], string | null, string | null, boolean][] = [
    [['rtrim'], 'abc  ', 'abc', true],
    [['rtrim'], 'abc\t\r\n', 'abc', true],
    [['rtrim'], '  abc', 'abc', false],
    [['trim'], '  abc \n', 'abc', true],
    [['lowercase'], 'ABC', 'abc', true],
    [['lowercase'], 'ÄBC', 'äbc', true],
    [['lowercase'], 'abc ', 'abc', false],
    [['empty_as_null'], '', null, true],
    [['empty_as_null'], ' ', null, false],
    [['rtrim', 'empty_as_null'], '   ', null, true],
    [['trim', 'lowercase'], ' ABC ', 'abc', true],
    [[], 'abc ', 'abc', false],
    [[], '', null, false],
  ];
  it.each(cases)('%j: %j vs %j equal=%s', (rules, a, b, equal) => {
    const p = plan('string', { rules });
    if (equal) expectSameHash(p, [a, b]);
    else expectDifferentHash(p, a, b);
  });

  it('apply before the kind parses the value', () => {
    expect(applyRules('  x  ', ['rtrim'])).toBe('  x');
    const p = plan('uuid', { rules: ['trim', 'empty_as_null'] });
    expect(canonicalValue(p, '')).toBeNull();
    expect(canonicalValue(p, ' 3F2504E0-4F89-11D3-9A0C-0305E82C3301 ')).toBe('3f2504e0-4f89-11d3-9a0c-0305e82c3301');
  });
});

describe('planColumns', () => {
  /** A ColumnInfo as describeTable returns it; `type` is DATA_TYPE, `columnType` defaults to it. */
  const col = (name: string, type: string, over: Partial<ColumnInfo> = {}): ColumnInfo => ({
    name,
    dataType: type,
    columnType: type,
    scale: null,
    fraction: null,
    collation: null,
    json: false,
    ...over,
  });
  const input = (legacy: ColumnInfo[], readModel: ColumnInfo[], over: Partial<PlanInput> = {}): PlanInput => ({
    entity: 'orders',
    legacyTable: 'orders',
    readModelTable: 'rm_orders',
    legacy,
    readModel,
    columns: 'all',
    rules: {},
    key: ['id'],
    ...over,
  });
  const refusal = (i: PlanInput): string => {
    try {
      planColumns(i);
    } catch (err) {
      return (err as Error).message;
    }
    throw new Error('planColumns did not refuse');
  };

  it('refuses a legacy column the read model lacks, naming it', () => {
    const msg = refusal(input([col('id', 'bigint'), col('secret', 'varchar')], [col('id', 'bigint')]));
    expect(msg).toMatch(/legacy column "secret" has no read-model column "secret" in rm_orders/);
    expect(msg).toMatch(/ignore/);
  });

  it.each([
    ['time', col('at', 'time', { columnType: 'time(6)' })],
    ['geometry', col('at', 'geometry')],
    ['year-less interval (pg)', col('at', 'interval')],
  ])('refuses a column of unknown type (%s), naming the column and its type', (_n, legacyCol) => {
    const msg = refusal(input([col('id', 'bigint'), legacyCol], [col('id', 'bigint'), col('at', 'text')]));
    expect(msg).toContain(`legacy orders.at is ${legacyCol.dataType}`);
  });

  it('refuses an unknown type on the read-model side too', () => {
    const msg = refusal(input([col('id', 'bigint'), col('at', 'datetime', { fraction: 6 })], [col('id', 'bigint'), col('at', 'tsrange')]));
    expect(msg).toContain('read model rm_orders.at is tsrange');
  });

  it('refuses kinds that cannot be compared with each other', () => {
    const msg = refusal(input([col('id', 'bigint'), col('d', 'date')], [col('id', 'bigint'), col('d', 'boolean')]));
    expect(msg).toMatch(/legacy d \(date\) and read model d \(boolean\)/);
  });

  it('reports every problem at once', () => {
    const msg = refusal(input([col('id', 'bigint'), col('a', 'time'), col('b', 'int')], [col('id', 'bigint'), col('a', 'time')]));
    expect(msg).toMatch(/"b"/);
    expect(msg).toMatch(/orders\.a is time/);
  });

  it('pairs tinyint(1) with boolean as bool, and with an integer as integer', () => {
    const flag = col('flag', 'tinyint', { columnType: 'tinyint(1)' });
    expect(
      planColumns(input([col('id', 'bigint'), flag], [col('id', 'bigint'), col('flag', 'boolean', { columnType: 'bool' })]))[1],
    ).toMatchObject({ kind: 'bool' });
    expect(
      planColumns(input([col('id', 'bigint'), flag], [col('id', 'bigint'), col('flag', 'smallint', { columnType: 'int2' })]))[1],
    ).toMatchObject({ kind: 'integer' });
    // tinyint(4) is a number, even against a boolean it cannot be paired as bool
    const small = col('flag', 'tinyint', { columnType: 'tinyint(4)' });
    expect(() => planColumns(input([col('id', 'bigint'), small], [col('id', 'bigint'), col('flag', 'boolean')]))).toThrow(/flag/);
  });

  it('a CHAR(36) key (a UUID as third-party MySQL schemas store it) gets no automatic rtrim: keys are compared exactly', () => {
    // planEntity refuses a key with rules, so the automatic rtrim made every CHAR key unreconcilable.
    const legacy = [col('id', 'char', { columnType: 'char(36)' }), col('name', 'varchar')];
    const rm = [col('id', 'text'), col('name', 'text')];
    const [key, name] = planColumns(input(legacy, rm));
    expect(key).toMatchObject({ legacy: 'id', kind: 'string', rules: [] });
    expect(name).toMatchObject({ legacy: 'name', rules: [] });
  });

  it('CHAR gets rtrim automatically (pg pads CHAR(n), MySQL strips), unless a trim rule is set', () => {
    const legacy = [col('id', 'bigint'), col('code', 'char', { columnType: 'char(8)' })];
    const rm = [col('id', 'bigint'), col('code', 'character', { columnType: 'bpchar' })];
    const p = planColumns(input(legacy, rm))[1]!;
    expect(p).toMatchObject({ kind: 'string', rules: ['rtrim'] });
    expectSameHash(p, ['AB', 'AB      ']);
    expect(planColumns(input(legacy, rm, { rules: { code: ['trim'] } }))[1]!.rules).toEqual(['trim']);
    expect(
      planColumns(input([col('id', 'bigint'), col('code', 'varchar')], [col('id', 'bigint'), col('code', 'character varying')]))[1]!.rules,
    ).toEqual([]);
  });

  it('puts keys first, takes the larger decimal scale and the smaller timestamp fraction, and leaves out ignored columns', () => {
    const plans = planColumns(
      input(
        [col('amount', 'decimal', { scale: 2 }), col('at', 'datetime', { fraction: 6 }), col('id', 'bigint'), col('skip', 'geometry')],
        [col('id', 'bigint'), col('amount', 'numeric', { scale: 4 }), col('at', 'timestamp without time zone', { fraction: 3 })],
        { rules: { skip: ['ignore'] } },
      ),
    );
    expect(plans.map((p) => p.legacy)).toEqual(['id', 'amount', 'at']);
    expect(plans[1]).toMatchObject({ kind: 'decimal', scale: 4 });
    expect(plans[2]).toMatchObject({ kind: 'timestamp', fraction: 3 });
  });

  it('maps MariaDB JSON (LONGTEXT + json_valid) to jsonb as json, and a uuid to CHAR(36) as uuid', () => {
    const plans = planColumns(
      input(
        [col('id', 'bigint'), col('doc', 'longtext', { json: true }), col('uid', 'char', { columnType: 'char(36)' })],
        [col('id', 'bigint'), col('doc', 'jsonb'), col('uid', 'uuid')],
      ),
    );
    expect(plans.map((p) => p.kind)).toEqual(['integer', 'json', 'uuid']);
  });
});
