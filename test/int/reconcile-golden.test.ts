/**
 * THE GOLDEN TEST of the row encoding: the same logical rows stored in MariaDB and in
 * PostgreSQL hash identically across every supported type — NULL vs '', trailing spaces,
 * DECIMAL scale, microsecond timestamps written in non-UTC sessions, JSON key order,
 * emoji / 4-byte UTF-8, BIGINT above 2^53 — and rows that differ in only one of those
 * respects hash differently.
 *
 * The rows are written the way real clients would: the MariaDB writer runs with
 * time_zone '+05:30' and gives TIMESTAMP values as that zone's local time, the PostgreSQL
 * writer runs in America/Sao_Paulo and gives timestamptz values with assorted offsets (or
 * none: then the session zone applies). They are read back through the executors the
 * reconciliation uses (the PostgreSQL one in yet another zone), planned from
 * information_schema with describeTable + planColumns, and encoded with encodeRow.
 */
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Executor } from '../../src/db/executor.ts';
import { createMysqlExecutor } from '../../src/db/mysqlExecutor.ts';
import { createPgExecutor } from '../../src/db/pgExecutor.ts';
import { describeTable } from '../../src/reconcile/columns/describeTable.ts';
import { planColumns } from '../../src/reconcile/columns/planColumns.ts';
import type { ColumnKind, ColumnPlan } from '../../src/reconcile/encoding/kinds.ts';
import { displayCanonical, encodeRow, rowHash, sameCanonical } from '../../src/reconcile/encoding/rowEncoding.ts';
import { createMysqlTestDb, createPgTestDb, type TestDb } from '../harness/db.ts';

const MYSQL_DDL = `CREATE TABLE golden (
  \`id\` BIGINT NOT NULL PRIMARY KEY,
  \`big\` BIGINT NULL,
  \`small\` INT NULL,
  \`amount\` DECIMAL(12,2) NULL,
  \`ratio\` DOUBLE NULL,
  \`flag\` TINYINT(1) NULL,
  \`name\` VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
  \`code\` CHAR(8) NULL,
  \`born\` DATE NULL,
  \`at\` DATETIME(6) NULL,
  \`stamped\` TIMESTAMP(6) NULL DEFAULT NULL,
  \`doc\` JSON NULL,
  \`uid\` CHAR(36) NULL,
  \`blob\` VARBINARY(16) NULL,
  \`note\` TEXT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`;

const PG_DDL = `CREATE TABLE golden (
  "id" bigint PRIMARY KEY,
  "big" bigint,
  "small" integer,
  "amount" numeric(12,2),
  "ratio" double precision,
  "flag" boolean,
  "name" varchar(64) COLLATE "C",
  "code" char(8),
  "born" date,
  "at" timestamp(6),
  "stamped" timestamptz(6),
  "doc" jsonb,
  "uid" uuid,
  "blob" bytea,
  "note" text
)`;

const COLUMNS = [
  'id',
  'big',
  'small',
  'amount',
  'ratio',
  'flag',
  'name',
  'code',
  'born',
  'at',
  'stamped',
  'doc',
  'uid',
  'blob',
  'note',
] as const;
type Column = (typeof COLUMNS)[number];

/**
 * One logical row. Values are what a client means; the writers below turn them into each
 * database's own input (flag as 1/0 or true/false, `stamped` as local time of the session).
 */
interface Row {
  id: string;
  big: string | null;
  small: number | null;
  amount: string | null;
  ratio: string | null;
  flag: boolean | null;
  name: string | null;
  code: string | null;
  born: string | null;
  /** DATETIME / timestamp without time zone: UTC wall-clock text, written as is on both sides. */
  at: string | null;
  /** TIMESTAMP / timestamptz: the instant, as UTC 'YYYY-MM-DD HH:MM:SS.ffffff'. */
  stamped: string | null;
  /** JSON as the MariaDB client writes it (kept verbatim by MariaDB)… */
  doc: string | null;
  /** …and the same value as the PostgreSQL client writes it (jsonb reorders and re-prints). */
  docPg?: string;
  /** The uuid; MariaDB gets it upper-cased on odd ids (CHAR(36) keeps the case). */
  uid: string | null;
  blob: Buffer | null;
  note: string | null;
}

const base: Row = {
  id: '1',
  big: '1',
  small: 1,
  amount: '12.50',
  ratio: '0.1',
  flag: true,
  name: 'alice',
  code: 'AB',
  born: '2024-03-02',
  at: '2024-03-02 01:01:07.000010',
  stamped: '2024-03-02 01:01:07.000010',
  doc: '{"b":1,"a":[1,{"d":2,"c":3}]}',
  docPg: '{"a":[1,{"c":3,"d":2}],"b":1}',
  uid: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  blob: Buffer.from([0x00, 0xff]),
  note: 'hello',
};

const NULLS = Object.fromEntries(COLUMNS.filter((c) => c !== 'id').map((c) => [c, null])) as unknown as Omit<Row, 'id'>;

/** Rows that must hash identically on both sides. */
const SAME: Row[] = [
  base,
  // NULL vs '': '' is kept as '' on both sides (and CHAR '' reads back '' / 8 spaces)
  { ...base, id: '2', name: '', code: '', note: '', doc: '""', docPg: '""' },
  // every column NULL
  { ...NULLS, id: '3' },
  // the text 'NULL' is a value, not NULL
  { ...base, id: '4', name: 'NULL', code: 'NULL', note: 'NULL', doc: '"NULL"', docPg: '"NULL"' },
  // trailing (and leading) spaces: VARCHAR and TEXT keep them; CHAR(n) is padded by pg, stripped by MariaDB
  { ...base, id: '5', name: ' bob  ', code: 'X  ', note: 'tab\t and spaces   ' },
  // DECIMAL scale: 12.5 is stored 12.50; -0.00 is 0.00; the extremes of DECIMAL(12,2)
  { ...base, id: '6', amount: '12.5', ratio: '-0' },
  { ...base, id: '7', amount: '-0.00', ratio: '1e300' },
  { ...base, id: '8', amount: '9999999999.99', small: 2147483647, ratio: '0.30000000000000004' },
  { ...base, id: '9', amount: '-0.01', small: -2147483648, ratio: '-2.5', flag: false },
  // microsecond timestamps: the edges of MariaDB's TIMESTAMP range, and an instant whose
  // local date in both writing zones is not its UTC date
  { ...base, id: '10', at: '1000-01-01 00:00:00.000000', stamped: '1970-01-01 00:00:01.000001', born: '1000-01-01' },
  { ...base, id: '11', at: '9999-12-31 23:59:59.999999', stamped: '2038-01-19 03:14:07.999999', born: '9999-12-31' },
  { ...base, id: '12', at: '2023-12-31 23:59:59.999999', stamped: '2023-12-31 23:59:59.999999' },
  { ...base, id: '13', at: '2024-03-02 01:01:07.000001', stamped: '2024-03-01 19:00:00.000001' },
  // JSON: key order, nesting, escapes, number spellings, big numbers
  {
    ...base,
    id: '14',
    doc: '{"z":{"y":1,"x":[true,null,1.50]},"a":"\\u00e9😀","n":9007199254740993,"e":{}}',
    docPg: '{ "e": {}, "n": 9007199254740993, "a": "é\\ud83d\\ude00", "z": { "x": [true, null, 15e-1], "y": 1 } }',
  },
  // emoji and other 4-byte UTF-8 (and a ZWJ sequence, CJK, combining marks)
  { ...base, id: '15', name: 'emoji 😀🎉 𝄞', code: 'ü😀', note: '漢字 👩‍👩‍👧 e\u0301 \u00e9', doc: '{"s":"😀"}', docPg: '{"s":"😀"}' },
  // BIGINT above 2^53 (as column values and as a key)
  { ...base, id: '9007199254740993', big: '9007199254740993' },
  { ...base, id: '9007199254740992', big: '9007199254740992' },
  { ...base, id: '16', big: '-9223372036854775808', blob: Buffer.from('00112233445566778899aabbccddeeff', 'hex') },
  { ...base, id: '17', big: '9223372036854775807', blob: Buffer.alloc(0), uid: 'ffffffff-ffff-ffff-ffff-ffffffffffff' },
];

/** Rows that differ in exactly one column: [row as MariaDB gets it, the one change PostgreSQL gets, the column]. */
const DIFFERENT: [string, Row, Partial<Row>, Column][] = [
  ['NULL vs an empty string', { ...base, id: '101', note: null }, { note: '' }, 'note'],
  ['a trailing space in a VARCHAR', { ...base, id: '102', name: 'carol' }, { name: 'carol ' }, 'name'],
  ['one microsecond in a DATETIME', { ...base, id: '103', at: '2024-03-02 01:01:07.000010' }, { at: '2024-03-02 01:01:07.000011' }, 'at'],
  [
    'one microsecond in a TIMESTAMP',
    { ...base, id: '104', stamped: '2024-03-02 01:01:07.000010' },
    { stamped: '2024-03-02 01:01:07.000011' },
    'stamped',
  ],
  ['BIGINT 2^53 + 1 vs 2^53', { ...base, id: '105', big: '9007199254740993' }, { big: '9007199254740992' }, 'big'],
  [
    'a JSON number above 2^53',
    { ...base, id: '109', doc: '{"n":9007199254740993}' },
    { doc: '{"n":9007199254740992}', docPg: '{"n":9007199254740992}' },
    'doc',
  ],
  [
    'a JSON value (keys reordered too)',
    { ...base, id: '106', doc: '{"a":1,"b":2}' },
    { doc: '{"b":2,"a":3}', docPg: '{"b":2,"a":3}' },
    'doc',
  ],
  ['one cent', { ...base, id: '107', amount: '12.50' }, { amount: '12.51' }, 'amount'],
  ['one emoji for another', { ...base, id: '108', name: 'x😀' }, { name: 'x😁' }, 'name'],
];

// ---- writing, as clients in non-UTC sessions would ----------------------------------------

const MYSQL_WRITER_ZONE = '+05:30';
const PG_WRITER_ZONE = 'America/Sao_Paulo'; // UTC-03 all year since 2019
const PG_READER_ZONE = 'Asia/Kathmandu'; // UTC+05:45: reading need not happen in UTC either

/** A UTC 'YYYY-MM-DD HH:MM:SS.ffffff' as the wall-clock time `offsetMinutes` east of UTC (microseconds kept). */
function wallClock(utc: string, offsetMinutes: number): string {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d+)?$/.exec(utc);
  if (!m) throw new Error(`bad instant ${utc}`);
  const t = new Date(0);
  t.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  t.setUTCHours(Number(m[4]), Number(m[5]) + offsetMinutes, Number(m[6]));
  const p2 = (n: number) => String(n).padStart(2, '0');
  return `${String(t.getUTCFullYear()).padStart(4, '0')}-${p2(t.getUTCMonth() + 1)}-${p2(t.getUTCDate())} ${p2(t.getUTCHours())}:${p2(t.getUTCMinutes())}:${p2(t.getUTCSeconds())}${m[7] ?? ''}`;
}

/** How the PostgreSQL client spells each row's instant: explicit offsets of several zones, or none (session zone). */
const PG_SPELLINGS: ((utc: string) => string)[] = [
  (u) => `${wallClock(u, -180)}-03`,
  (u) => `${wallClock(u, 9 * 60)}+09`,
  (u) => `${wallClock(u, 5 * 60 + 45)}+05:45`,
  (u) => `${u.replace(' ', 'T')}Z`,
  (u) => wallClock(u, -180), // no offset: read as America/Sao_Paulo local time
];

function mysqlParams(r: Row): unknown[] {
  const uid = r.uid !== null && BigInt(r.id) % 2n === 1n ? r.uid.toUpperCase() : r.uid;
  const stamped = r.stamped === null ? null : wallClock(r.stamped, 5 * 60 + 30);
  return [
    r.id,
    r.big,
    r.small,
    r.amount,
    r.ratio,
    r.flag === null ? null : r.flag ? 1 : 0,
    r.name,
    r.code,
    r.born,
    r.at,
    stamped,
    r.doc,
    uid,
    r.blob,
    r.note,
  ];
}

function pgParams(r: Row, i: number): unknown[] {
  const stamped = r.stamped === null ? null : PG_SPELLINGS[i % PG_SPELLINGS.length]!(r.stamped);
  return [r.id, r.big, r.small, r.amount, r.ratio, r.flag, r.name, r.code, r.born, r.at, stamped, r.docPg ?? r.doc, r.uid, r.blob, r.note];
}

const colList = (q: string) => COLUMNS.map((c) => `${q}${c}${q}`).join(', ');

// ---- the test --------------------------------------------------------------------------------

describe('golden: MariaDB and PostgreSQL rows hash identically', () => {
  let mysqlDb: TestDb;
  let pgDb: TestDb;
  let legacy: Executor;
  let readModel: Executor;
  let plans: ColumnPlan[];
  /** Encoded rows by id, per side. */
  const encoded: Record<
    'legacy' | 'readModel',
    Map<string, { hash: string; canon: ReturnType<typeof encodeRow>['canon']; values: unknown[] }>
  > = { legacy: new Map(), readModel: new Map() };
  const order: Record<'legacy' | 'readModel', string[]> = { legacy: [], readModel: [] };
  /** What the writers' sessions saw, for the sanity checks. */
  const written = { mysqlZone: '', mysqlLocal: '', pgZone: '' };

  beforeAll(async () => {
    [mysqlDb, pgDb] = await Promise.all([createMysqlTestDb('reconcile_golden'), createPgTestDb('reconcile_golden')]);
    const allRows = [...SAME, ...DIFFERENT.map(([, row]) => row)];

    // MariaDB: a plain mysql2 connection in a +05:30 session (the executor would force UTC).
    const my = await mysql.createConnection({
      uri: mysqlDb.url,
      charset: 'utf8mb4',
      supportBigNumbers: true,
      bigNumberStrings: true,
      dateStrings: true,
    });
    try {
      await my.query(MYSQL_DDL);
      await my.query(`SET time_zone = '${MYSQL_WRITER_ZONE}'`);
      for (const r of allRows)
        await my.query(`INSERT INTO golden (${colList('`')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`, mysqlParams(r));
      const [[zone]] = (await my.query('SELECT @@session.time_zone AS z')) as unknown as [[{ z: string }]];
      const [[local]] = (await my.query('SELECT CAST(stamped AS CHAR) AS s FROM golden WHERE id = 1')) as unknown as [[{ s: string }]];
      written.mysqlZone = zone.z;
      written.mysqlLocal = local.s;
    } finally {
      await my.end();
    }

    // PostgreSQL: a plain pg client in America/Sao_Paulo.
    const client = new pg.Client({ connectionString: pgDb.url });
    await client.connect();
    try {
      await client.query(PG_DDL);
      await client.query(`SET TIME ZONE '${PG_WRITER_ZONE}'`);
      const pgRows = [...SAME, ...DIFFERENT.map(([, row, change]) => ({ ...row, ...change }))];
      for (const [i, r] of pgRows.entries()) {
        await client.query(
          `INSERT INTO golden (${colList('"')}) VALUES (${COLUMNS.map((_, j) => `$${j + 1}`).join(', ')})`,
          pgParams(r, i),
        );
      }
      written.pgZone = (await client.query<{ z: string }>("SELECT current_setting('TimeZone') AS z")).rows[0]!.z;
    } finally {
      await client.end();
    }

    // Read back the way reconciliation does: its executors, plan from information_schema, rows as arrays.
    legacy = createMysqlExecutor({ url: mysqlDb.url, max: 2 });
    readModel = createPgExecutor({ url: pgDb.url, max: 2, settings: { TimeZone: PG_READER_ZONE } });
    const [lcols, rcols] = await Promise.all([describeTable(legacy, 'golden', 'legacy'), describeTable(readModel, 'golden', 'readModel')]);
    plans = planColumns({
      entity: 'golden',
      legacyTable: 'golden',
      readModelTable: 'golden',
      legacy: lcols,
      readModel: rcols,
      columns: 'all',
      rules: {},
      key: ['id'],
    });

    for (const side of ['legacy', 'readModel'] as const) {
      const db = side === 'legacy' ? legacy : readModel;
      const q = db.dialect === 'mysql' ? '`' : '"';
      const cols = plans.map((p) => `${q}${side === 'legacy' ? p.legacy : p.readModel}${q}`).join(', ');
      const { rows } = await db.query<unknown[]>(`SELECT ${cols} FROM golden ORDER BY ${q}id${q}`, [], { arrays: true });
      for (const values of rows) {
        const { bytes, canon } = encodeRow(plans, values);
        const id = displayCanonical(canon[0]!)!;
        order[side].push(id);
        encoded[side].set(id, { hash: rowHash(bytes).toString('hex'), canon, values });
      }
    }
  });

  afterAll(async () => {
    await legacy?.close();
    await readModel?.close();
    await Promise.all([mysqlDb?.drop(), pgDb?.drop()]);
  });

  it('wrote in non-UTC sessions and reads TIMESTAMP in UTC through the executor', async () => {
    expect(written.mysqlZone).toBe(MYSQL_WRITER_ZONE);
    expect(written.pgZone).toBe(PG_WRITER_ZONE);
    // the writer's session sees local time; the executor's session must see UTC
    expect(written.mysqlLocal).toBe('2024-03-02 06:31:07.000010');
    const { rows } = await legacy.query<unknown[]>('SELECT @@session.time_zone, CAST(stamped AS CHAR) FROM golden WHERE id = 1', [], {
      arrays: true,
    });
    expect(rows[0]).toEqual(['+00:00', '2024-03-02 01:01:07.000010']);
    // and pg hands timestamptz over in the reader's zone, not UTC: the encoding has to convert
    const pgText = await readModel.query<unknown[]>('SELECT stamped FROM golden WHERE id = 1', [], { arrays: true });
    expect(pgText.rows[0]![0]).toBe('2024-03-02 06:46:07.00001+05:45');
  });

  it('plans every column, covering every column kind', () => {
    expect(plans.map((p) => [p.legacy, p.kind])).toEqual([
      ['id', 'integer'],
      ['big', 'integer'],
      ['small', 'integer'],
      ['amount', 'decimal'],
      ['ratio', 'float'],
      ['flag', 'bool'],
      ['name', 'string'],
      ['code', 'string'],
      ['born', 'date'],
      ['at', 'timestamp'],
      ['stamped', 'timestamp'],
      ['doc', 'json'],
      ['uid', 'uuid'],
      ['blob', 'bytes'],
      ['note', 'string'],
    ]);
    const allKinds: ColumnKind[] = ['integer', 'decimal', 'float', 'string', 'bool', 'date', 'timestamp', 'json', 'uuid', 'bytes'];
    expect(new Set(plans.map((p) => p.kind))).toEqual(new Set(allKinds));
    expect(plans.find((p) => p.legacy === 'amount')!.scale).toBe(2);
    expect(plans.find((p) => p.legacy === 'stamped')!.fraction).toBe(6);
    expect(plans.find((p) => p.legacy === 'at')!.fraction).toBe(6);
    expect(plans.find((p) => p.legacy === 'code')!.rules).toEqual(['rtrim']);
    expect(plans.find((p) => p.legacy === 'name')!.rules).toEqual([]);
  });

  it('reads the same keys in the same order on both sides', () => {
    const ids = [...SAME, ...DIFFERENT.map(([, r]) => r)].map((r) => r.id).sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
    expect(order.legacy).toEqual(ids);
    expect(order.readModel).toEqual(ids);
  });

  it('is not vacuous: the drivers hand the two sides over in different forms', () => {
    // [row, column, what mysql2 gives, what pg gives] for the same logical value
    const raw = (side: 'legacy' | 'readModel', id: string, col: Column) =>
      encoded[side].get(id)!.values[plans.findIndex((p) => p.legacy === col)];
    const cases: [string, Column, unknown, unknown][] = [
      ['1', 'flag', 1, true],
      ['1', 'stamped', '2024-03-02 01:01:07.000010', '2024-03-02 06:46:07.00001+05:45'],
      ['1', 'doc', '{"b":1,"a":[1,{"d":2,"c":3}]}', '{"a": [1, {"c": 3, "d": 2}], "b": 1}'],
      ['1', 'uid', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'],
      ['5', 'code', 'X', 'X       '],
    ];
    for (const [id, col, l, r] of cases) expect([id, col, raw('legacy', id, col), raw('readModel', id, col)]).toEqual([id, col, l, r]);
  });

  it.each(SAME.map((r) => [r.id, r] as const))('row %s hashes identically', (id) => {
    const l = encoded.legacy.get(id)!;
    const r = encoded.readModel.get(id)!;
    // canonical values first, for a readable diff when a column disagrees
    const show = (c: typeof l.canon) => Object.fromEntries(plans.map((p, i) => [p.legacy, displayCanonical(c[i]!)]));
    expect(show(l.canon)).toEqual(show(r.canon));
    expect(l.hash).toBe(r.hash);
  });

  it("keeps what distinguishes the rows: NULL, the text NULL, '', spaces and 4-byte characters read back as written", () => {
    const val = (id: string, col: Column) => displayCanonical(encoded.readModel.get(id)!.canon[plans.findIndex((p) => p.legacy === col)]!);
    expect([val('3', 'note'), val('2', 'note'), val('4', 'note')]).toEqual([null, '', 'NULL']);
    expect(val('5', 'name')).toBe(' bob  ');
    expect(val('5', 'code')).toBe('X');
    expect(val('15', 'name')).toBe('emoji 😀🎉 𝄞');
    expect(val('9007199254740993', 'big')).toBe('9007199254740993');
    expect(val('14', 'doc')).toBe('{"a":"é😀","e":{},"n":9007199254740993,"z":{"x":[true,null,1.5],"y":1}}');
    expect(val('13', 'stamped')).toBe('2024-03-01T19:00:00.000001Z');
    // rows that are equal on both sides are still different from each other
    expect(new Set(SAME.map((r) => encoded.legacy.get(r.id)!.hash)).size).toBe(SAME.length);
  });

  it.each(DIFFERENT)('a row differing only by %s hashes differently', (_name, row, _change, column) => {
    const l = encoded.legacy.get(row.id)!;
    const r = encoded.readModel.get(row.id)!;
    expect(l.hash).not.toBe(r.hash);
    const differing = plans.filter((p, i) => !sameCanonical(p, l.canon[i]!, r.canon[i]!)).map((p) => p.legacy);
    expect(differing).toEqual([column]);
  });
});
