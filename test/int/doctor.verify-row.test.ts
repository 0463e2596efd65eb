import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entitiesSchema } from '../../src/config/entitySchema.ts';
import { verifyStream, type VerifyOptions } from '../../src/doctor/index.ts';
import { openEventStore, type EventStore } from '../../src/eventstore/index.ts';
import { createRowProjection } from '../../src/projections/modules/row/index.ts';
import { createPgTestDb, type TestDb } from '../harness/db.ts';

const customers = entitiesSchema.parse({
  customers: {
    commands: [
      { route: 'POST /customers', event: 'CustomerRegistered', id: '$.id', capture: 'response' },
      { route: 'PATCH /customers/:id', event: 'CustomerUpdated' },
      { route: 'DELETE /customers/:id', event: 'CustomerDeleted' },
    ],
    reconcile: { columns: ['id', 'name', 'email', 'credit_limit'] },
  },
}).customers!;
const module = createRowProjection({
  entity: 'customers',
  config: customers,
  columns: [
    { column: 'name', fields: ['name'] },
    { column: 'email', fields: ['email'] },
    { column: 'credit_limit', fields: ['creditLimit'], type: 'numeric(12,2)' },
  ],
});
// The user's table and the projection's side table (customers__strangler_rows), under their own names.
const tables = Object.fromEntries(module.tables.map((t) => [t, t]));
const opts: VerifyOptions = {
  targets: [{ entity: 'customers', stream: 'customers-{id}', projection: 'customers', fold: module.fold }],
  snapshotInterval: 100,
};

let testDb: TestDb;
let store: EventStore;
beforeAll(async () => {
  testDb = await createPgTestDb('verify_row');
  store = await openEventStore({ url: testDb.url, migrate: true });
  await store.db.exec(module.ddl(tables));
});
afterAll(async () => {
  await store?.close();
  await testDb?.drop();
});

async function project(): Promise<void> {
  const { events } = await store.readAll({ after: { transactionId: '0', position: 0 }, limit: 100_000 });
  await store.db.transaction((tx) => module.apply(tx, events, tables));
}

describe('doctor verify with the row projection fold (PostgreSQL 15)', () => {
  it('agrees with the projected row, finds a column changed by hand, and a row the stream deleted', async () => {
    await store.append('customers-c1', [
      { type: 'CustomerRegistered', data: { id: 'c1', name: 'Ada', email: 'ada@example.com', creditLimit: 10 } },
      { type: 'CustomerUpdated', data: { email: 'ada@lovelace.dev' } },
    ]);
    await project();
    // credit_limit is numeric(12,2) (prints 10.00), the event says 10: the same number.
    expect(await verifyStream(store, store.db, 'customers-c1', opts)).toMatchObject({ equal: true, differences: [], version: 2 });

    await store.db.query(`UPDATE customers SET email = 'nobody@example.com' WHERE id = 'c1'`);
    expect((await verifyStream(store, store.db, 'customers-c1', opts)).differences).toEqual([
      { field: 'customers.email', expected: 'ada@lovelace.dev', actual: 'nobody@example.com' },
    ]);

    await store.append('customers-c1', [{ type: 'CustomerDeleted', data: {} }]);
    expect((await verifyStream(store, store.db, 'customers-c1', opts)).differences).toEqual([
      { field: 'customers', expected: '(no row: the stream deleted it)', actual: 'row c1' },
    ]);
    await project();
    expect((await verifyStream(store, store.db, 'customers-c1', opts)).equal).toBe(true);
  });

  it('an entity whose projection offers no fold is refused with the reason', async () => {
    await store.append('customers-c2', [{ type: 'CustomerRegistered', data: { id: 'c2', name: 'Bob' } }]);
    const noFold = { targets: [{ ...opts.targets[0]!, fold: undefined }], snapshotInterval: 100 };
    await expect(verifyStream(store, store.db, 'customers-c2', noFold)).rejects.toThrow(/no fold for entity "customers"/);
  });
});
