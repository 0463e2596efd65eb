import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Executor } from '../../src/db/executor.ts';
import { createMysqlExecutor } from '../../src/db/mysqlExecutor.ts';
import { createPgExecutor } from '../../src/db/pgExecutor.ts';
import { migrate, startLegacyOrders, type RunningLegacyOrders } from '../../examples/legacy-orders/index.ts';
import { createMysqlTestDb, createPgTestDb, type TestDb } from '../harness/db.ts';
import { legacyOrdersScenario } from '../unit/legacy-orders.scenario.ts';

const backends = [
  { name: 'PostgreSQL', createDb: () => createPgTestDb('legacy_orders'), open: (url: string) => createPgExecutor({ url }) },
  { name: 'MariaDB', createDb: () => createMysqlTestDb('legacy_orders'), open: (url: string) => createMysqlExecutor({ url }) },
] as const;

for (const backend of backends) {
  describe(`legacy-orders on ${backend.name}`, () => {
    let testDb: TestDb;
    let db: Executor;
    let service: RunningLegacyOrders;

    beforeAll(async () => {
      testDb = await backend.createDb();
      db = backend.open(testDb.url);
      await migrate(db);
      service = await startLegacyOrders({ db });
    });

    afterAll(async () => {
      await service?.close();
      await db?.close();
      await testDb?.drop();
    });

    it('migrate() is idempotent: a second run keeps the schema and the rows', async () => {
      const schema = async () =>
        (
          await db.query<{ t: string; c: string; d: string }>(
            `SELECT table_name AS t, column_name AS c, data_type AS d FROM information_schema.columns
              WHERE table_schema = ${db.dialect === 'mysql' ? 'DATABASE()' : "'public'"} AND table_name IN ('orders', 'order_items')
              ORDER BY table_name, column_name`,
          )
        ).rows.map((r) => `${r.t}.${r.c} ${r.d}`);
      const before = await schema();
      expect(before).toEqual(expect.arrayContaining([expect.stringMatching(/^orders\.id /), expect.stringMatching(/^order_items\.sku /)]));
      const id = 'ord_00000000000migr';
      const ph = (n: number) => (db.dialect === 'mysql' ? '?' : `$${n}`);
      await db.query(
        `INSERT INTO orders (id, customer_id, status, total_amount, created_at, updated_at) VALUES (${ph(1)}, 'c', 'CREATED', 1.00, '2026-01-01 00:00:00', '2026-01-01 00:00:00')`,
        [id],
      );
      await migrate(db);
      expect(await schema()).toEqual(before);
      const { rows } = await db.query<{ n: string | number }>(`SELECT count(*) AS n FROM orders WHERE id = ${ph(1)}`, [id]);
      expect(Number(rows[0]!.n)).toBe(1);
      await db.query(`DELETE FROM orders WHERE id = ${ph(1)}`, [id]); // the scenario below starts from no rows
    });

    legacyOrdersScenario(() => ({ url: service.url, db }));
  });
}

describe('legacy-orders schema', () => {
  it('has one schema file per dialect', async () => {
    const { readFile } = await import('node:fs/promises');
    for (const file of ['mysql.sql', 'postgres.sql']) {
      const text = await readFile(new URL(`../../examples/legacy-orders/schema/${file}`, import.meta.url), 'utf8');
      expect(text).toMatch(/CREATE TABLE IF NOT EXISTS orders/);
      expect(text).toMatch(/CREATE TABLE IF NOT EXISTS order_items/);
    }
  });
});
