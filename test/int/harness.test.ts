import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Executor } from '../../src/db/executor.ts';
import { createMysqlExecutor } from '../../src/db/mysqlExecutor.ts';
import { createPgExecutor } from '../../src/db/pgExecutor.ts';
import { createMysqlTestDb, createPgTestDb, type TestDb } from '../harness/db.ts';
import { startMariadb, startPostgres, type ServerHandle } from '../harness/servers.ts';

// 2^53 + 1: the first integer a JS number cannot hold.
const BIG = '9007199254740993';

describe('PostgreSQL test databases', () => {
  let a: TestDb;
  let b: TestDb;
  let dbA: Executor;
  let dbB: Executor;

  beforeAll(async () => {
    [a, b] = await Promise.all([createPgTestDb('harness'), createPgTestDb('harness')]);
    dbA = createPgExecutor({ url: a.url });
    dbB = createPgExecutor({ url: b.url });
  });
  afterAll(async () => {
    await dbA?.close();
    await dbB?.close();
    await a?.drop();
    await b?.drop();
  });

  it('connects to a database of its own', async () => {
    const { rows } = await dbA.query<{ db: string }>('SELECT current_database() AS db');
    expect(rows[0]?.db).toBe(a.name);
    expect(a.name).not.toBe(b.name);
  });

  it('does not see tables created in another test database', async () => {
    await dbA.exec('CREATE TABLE only_in_a (id int PRIMARY KEY)');
    const inA = await dbA.query<{ t: string | null }>(`SELECT to_regclass('only_in_a')::text AS t`);
    const inB = await dbB.query<{ t: string | null }>(`SELECT to_regclass('only_in_a')::text AS t`);
    expect(inA.rows[0]?.t).toBe('only_in_a');
    expect(inB.rows[0]?.t).toBeNull();
  });

  it('hands back BIGINT, NUMERIC, TIMESTAMP(6) and JSON as the server text', async () => {
    await dbA.exec(`CREATE TABLE raw (b bigint, d numeric(12,2), ts timestamp(6), tstz timestamptz(6), j json, jb jsonb)`);
    await dbA.query(`INSERT INTO raw VALUES ($1, $2, $3, $4, $5, $6)`, [
      BIG,
      '1234567890.10',
      '2024-03-02 01:01:07.00001',
      '2024-03-02 01:01:07.00001+00',
      '{"a": 1.10,  "b": [1]}',
      '{"a": 1.10}',
    ]);
    const { rows } = await dbA.transaction(async (tx) => {
      await tx.exec(`SET LOCAL TimeZone = 'UTC'`);
      return tx.query<Record<string, unknown>>('SELECT * FROM raw');
    });
    expect(rows[0]).toEqual({
      b: BIG,
      d: '1234567890.10',
      ts: '2024-03-02 01:01:07.00001',
      tstz: '2024-03-02 01:01:07.00001+00',
      j: '{"a": 1.10,  "b": [1]}', // json keeps the text as written
      jb: '{"a": 1.10}',
    });
  });

  it('drop() removes the database and can be called twice', async () => {
    const c = await createPgTestDb('dropme');
    await c.drop();
    await c.drop();
    const { rows } = await dbA.query<{ n: string }>('SELECT count(*) AS n FROM pg_database WHERE datname = $1', [c.name]);
    expect(Number(rows[0]?.n)).toBe(0);
  });
});

describe('MariaDB test databases', () => {
  let m: TestDb;
  let db: Executor;

  beforeAll(async () => {
    m = await createMysqlTestDb('harness');
    db = createMysqlExecutor({ url: m.url });
  });
  afterAll(async () => {
    await db?.close();
    await m?.drop();
  });

  it('connects to a utf8mb4_bin database of its own', async () => {
    const { rows } = await db.query<{ db: string; coll: string }>('SELECT DATABASE() AS db, @@collation_database AS coll');
    expect(rows[0]).toEqual({ db: m.name, coll: 'utf8mb4_bin' });
    await db.exec('CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20))');
    await db.query('INSERT INTO t VALUES (?, ?), (?, ?)', [1, 'Ωmega', 2, 'b']);
    const res = await db.query<{ name: string }>('SELECT name FROM t ORDER BY id');
    expect(res.rows.map((r) => r.name)).toEqual(['Ωmega', 'b']);
  });

  it('hands back BIGINT, DECIMAL, DATETIME(6)/TIMESTAMP(6) and JSON as the server text', async () => {
    await db.exec('CREATE TABLE raw (b BIGINT, d DECIMAL(12,2), dt DATETIME(6), ts TIMESTAMP(6) NULL, j JSON)');
    await db.query('INSERT INTO raw VALUES (?, ?, ?, ?, ?)', [
      BIG,
      '1234567890.10',
      '2024-03-02 01:01:07.00001',
      '2024-03-02 01:01:07.00001',
      '{"a": 1.10,  "b": [1]}',
    ]);
    const { rows } = await db.query<Record<string, unknown>>('SELECT * FROM raw');
    expect(rows[0]).toEqual({
      b: BIG,
      d: '1234567890.10',
      dt: '2024-03-02 01:01:07.000010', // MariaDB pads to the column's 6 digits; PostgreSQL does not
      ts: '2024-03-02 01:01:07.000010',
      j: '{"a": 1.10,  "b": [1]}',
    });
  });
});

describe('server handles', () => {
  const servers: ServerHandle[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.destroy()));
  });

  it('a PostgreSQL killed with SIGKILL restarts on the same data dir and port with committed data intact', async () => {
    const server = await startPostgres();
    servers.push(server);
    const firstPid = server.pid;
    expect(firstPid).toBeTypeOf('number');

    let db = createPgExecutor({ url: server.url });
    await db.exec('CREATE TABLE survivors (id int PRIMARY KEY, note text)');
    await db.query('INSERT INTO survivors VALUES (1, $1), (2, $2)', ['before', 'crash']);
    await db.close();

    await server.kill('SIGKILL');
    expect(server.pid).toBeUndefined();
    expect(isAlive(firstPid!)).toBe(false);
    const down = createPgExecutor({ url: server.url });
    await expect(down.query('SELECT 1')).rejects.toThrow();
    await down.close();

    const port = server.port;
    await server.start();
    expect(server.port).toBe(port);
    expect(server.pid).not.toBe(firstPid);
    db = createPgExecutor({ url: server.url });
    const { rows } = await db.query<{ id: number; note: string }>('SELECT id, note FROM survivors ORDER BY id');
    await db.close();
    expect(rows).toEqual([
      { id: 1, note: 'before' },
      { id: 2, note: 'crash' },
    ]);

    await server.destroy();
    expect(isAlive(server.pid ?? firstPid!)).toBe(false);
    expect(fs.existsSync(server.dataDir)).toBe(false);
  });

  it('a MariaDB killed with SIGKILL restarts with committed data intact', async () => {
    const server = await startMariadb();
    servers.push(server);
    const firstPid = server.pid;

    let db = createMysqlExecutor({ url: server.url });
    await db.exec('CREATE DATABASE legacy; CREATE TABLE legacy.survivors (id INT PRIMARY KEY) ENGINE=InnoDB');
    await db.query('INSERT INTO legacy.survivors VALUES (1), (2)');
    await db.close();

    await server.kill();
    expect(isAlive(firstPid!)).toBe(false);
    await server.start();
    db = createMysqlExecutor({ url: server.url });
    const { rows } = await db.query<{ id: number }>('SELECT id FROM legacy.survivors ORDER BY id');
    await db.close();
    expect(rows).toEqual([{ id: 1 }, { id: 2 }]);

    await server.stop();
    expect(server.pid).toBeUndefined();
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
