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

    it('migrate() is idempotent', async () => {
      await migrate(db);
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
