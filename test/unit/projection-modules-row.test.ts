import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entitiesSchema } from '../../src/config/entitySchema.ts';
import type { EntityConfig } from '../../src/config/schema.ts';
import type { Executor } from '../../src/db/executor.ts';
import { createPgliteExecutor } from '../../src/db/pgliteExecutor.ts';
import type { RecordedEvent } from '../../src/eventstore/types.ts';
import { createRowProjection, pgTypeOf, rowEventKinds } from '../../src/projections/modules/row/index.ts';
import { recorded, type StreamEvent } from './projection-modules.events.ts';

export const customers: EntityConfig = entitiesSchema.parse({
  customers: {
    commands: [
      { route: 'POST /customers', event: 'CustomerRegistered', id: '$.id', capture: 'response' },
      { route: 'PATCH /customers/:id', event: 'CustomerUpdated' },
      { route: 'PUT /customers/:id/address', event: 'AddressChanged', data: ['address'] },
      { route: 'DELETE /customers/:id', event: 'CustomerDeleted' },
    ],
    reconcile: { columns: ['id', 'name', 'email', 'credit_limit'] },
  },
}).customers!;

const ev = (id: string, type: string, data: unknown): StreamEvent => ({
  streamId: `customers-${id}`,
  event: { id: randomUUID(), type, data, metadata: { schemaVersion: 1 } },
});

describe('rowEventKinds', () => {
  it('derives created / updated / deleted from the commands', () => {
    expect(Object.fromEntries(rowEventKinds(customers.commands))).toEqual({
      CustomerRegistered: 'created',
      CustomerUpdated: 'updated',
      AddressChanged: 'updated',
      CustomerDeleted: 'deleted',
      // reconciliation's corrective events, on every row projection
      StranglerRowRepaired: 'created',
      StranglerRowRemoved: 'deleted',
    });
  });

  it('takes expectedVersion no_stream as created, and overrides from code', () => {
    const parsed = entitiesSchema.parse({
      things: {
        commands: [
          { route: 'PUT /things/:id', event: 'ThingPut', expectedVersion: 'no_stream' },
          { route: 'POST /things/:id/replace', event: 'ThingReplaced' },
        ],
      },
    }).things!;
    expect(Object.fromEntries(rowEventKinds(parsed.commands, { ThingReplaced: 'created' }))).toEqual({
      ThingPut: 'created',
      ThingReplaced: 'created',
      StranglerRowRepaired: 'created',
      StranglerRowRemoved: 'deleted',
    });
  });

  it('refuses one event type meaning two kinds unless told which', () => {
    const parsed = entitiesSchema.parse({
      things: {
        commands: [
          { route: 'PATCH /things/:id', event: 'ThingChanged' },
          { route: 'DELETE /things/:id', event: 'ThingChanged' },
        ],
      },
    }).things!;
    expect(() => rowEventKinds(parsed.commands)).toThrow(/ThingChanged is written by commands that mean both "updated" and "deleted"/);
    expect(rowEventKinds(parsed.commands, { ThingChanged: 'deleted' }).get('ThingChanged')).toBe('deleted');
  });
});

describe('pgTypeOf (MariaDB column → read-model column)', () => {
  it('keeps ranges, lengths, precision and scale', () => {
    const cases: [string, string, string][] = [
      ['bigint', 'bigint(20)', 'bigint'],
      ['bigint', 'bigint(20) unsigned', 'numeric(20,0)'],
      ['int', 'int(11)', 'integer'],
      ['int', 'int(10) unsigned', 'bigint'],
      ['tinyint', 'tinyint(1)', 'boolean'],
      ['tinyint', 'tinyint(4)', 'smallint'],
      ['char', 'char(36)', 'char(36)'],
      ['varchar', 'varchar(255)', 'varchar(255)'],
      ['decimal', 'decimal(12,2)', 'numeric(12,2)'],
      ['datetime', 'datetime(6)', 'timestamp(6)'],
      ['timestamp', 'timestamp', 'timestamp(0)'],
      ['json', 'json', 'jsonb'],
      ['enum', "enum('a','b')", 'text'],
      ['longtext', 'longtext', 'text'],
      ['double', 'double', 'double precision'],
      ['uuid', 'uuid', 'uuid'],
      ['geometry', 'geometry', 'text'],
    ];
    for (const [dataType, columnType, pg] of cases) expect([columnType, pgTypeOf(dataType, columnType)]).toEqual([columnType, pg]);
  });
});

describe('readModel.table', () => {
  it('accepts a schema-qualified name, and says what it takes otherwise', () => {
    expect(entitiesSchema.parse({ docs: { readModel: { table: 'rm.docs' } } }).docs!.readModel).toEqual({ table: 'rm.docs', key: 'id' });
    expect(() => entitiesSchema.parse({ docs: { readModel: { table: 'a.b.c' } } })).toThrow(
      /a table name, optionally schema-qualified \(orders or rm\.orders\)/,
    );
  });
});

describe('row projection (embedded PGlite)', () => {
  let db: Executor;
  beforeAll(async () => {
    db = await createPgliteExecutor({});
  }, 60_000);
  afterAll(() => db.close());

  const module = createRowProjection({
    entity: 'customers',
    config: customers,
    columns: [
      { column: 'name', fields: ['name'] },
      { column: 'email', fields: ['email'] },
      { column: 'credit_limit', fields: ['creditLimit', 'credit_limit'], type: 'numeric(12,2)' },
    ],
  });
  let n = 0;
  async function fresh() {
    n++;
    const t = { customers: `r${n}_customers`, customers__strangler_rows: `r${n}_customers__strangler_rows` };
    await db.exec(module.ddl(t));
    return t;
  }
  const applyTo = (t: Record<string, string>, events: readonly RecordedEvent[]) => db.transaction((tx) => module.apply(tx, events, t));
  // The user's table holds the columns; the side table the version, tombstone and merged document.
  const dump = async (t: Record<string, string>) => ({
    rows: (await db.query(`SELECT id, name, email, credit_limit::text AS credit_limit FROM ${t.customers} ORDER BY id`)).rows,
    state: (
      await db.query<{ document: string | null }>(
        `SELECT key, version::text AS v, deleted, document::text AS document FROM ${t.customers__strangler_rows} ORDER BY key`,
      )
    ).rows.map((r) => ({ ...r, document: r.document === null ? null : (JSON.parse(r.document) as unknown) })),
  });

  const history = () =>
    recorded([
      ev('c1', 'CustomerRegistered', { id: 'c1', name: 'Ada', email: 'ada@example.com', creditLimit: '10.00' }),
      ev('c2', 'CustomerRegistered', { id: 'c2', name: 'Bob', email: 'bob@example.com', creditLimit: 5 }),
      ev('c1', 'CustomerUpdated', { email: 'ada@lovelace.dev' }),
      ev('c1', 'AddressChanged', { address: { city: 'London' } }),
      ev('c2', 'CustomerDeleted', {}),
      ev('c3', 'CustomerRegistered', { id: 'c3', name: 'Cy', creditLimit: '0.10' }),
      ev('c3', 'CustomerUpdated', { name: 'Cyril', creditLimit: '0.30' }),
      ev('gone', 'CustomerUpdated', { name: 'never created here' }),
    ]);

  it('created inserts, updated merges field by field, deleted deletes and leaves a tombstone', async () => {
    const t = await fresh();
    await applyTo(t, history());
    const { rows, state } = await dump(t);
    expect(rows).toEqual([
      { id: 'c1', name: 'Ada', email: 'ada@lovelace.dev', credit_limit: '10.00' },
      { id: 'c3', name: 'Cyril', email: null, credit_limit: '0.30' },
    ]);
    expect(state).toEqual([
      {
        key: 'c1',
        v: '3',
        deleted: false,
        document: { id: 'c1', name: 'Ada', email: 'ada@lovelace.dev', address: { city: 'London' }, creditLimit: '10.00' },
      },
      { key: 'c2', v: '2', deleted: true, document: null },
      { key: 'c3', v: '2', deleted: false, document: { id: 'c3', name: 'Cyril', creditLimit: '0.30' } },
    ]);
  });

  it('applying the same batch twice, or event by event, gives the same rows', async () => {
    const events = history();
    const t = await fresh();
    await applyTo(t, events);
    const once = await dump(t);
    await applyTo(t, events);
    expect(await dump(t)).toEqual(once);
    const oneByOne = await fresh();
    for (const e of events) await applyTo(oneByOne, [e]);
    expect(await dump(oneByOne)).toEqual(once);
  });

  it('without a table, columns in code or a legacy description, says how to get a table', async () => {
    const plain = createRowProjection({ entity: 'customers', config: customers });
    expect(plain.tables).toEqual(['customers', 'customers__strangler_rows']);
    const t = { customers: 'p_customers', customers__strangler_rows: 'p_customers__strangler_rows' };
    await expect(db.exec(plain.ddl(t))).rejects.toThrow(
      /read-model table customers does not exist and the row projection cannot create it: legacy\.database\.url is not set.*Create the table/,
    );
  });

  it('fills a table the user made from the same-named or camelCase fields, with its own types', async () => {
    const plain = createRowProjection({ entity: 'customers', config: customers });
    await db.exec(
      `CREATE TABLE u_customers (id text PRIMARY KEY, name text, credit_limit numeric(12,2), created timestamptz DEFAULT now())`,
    );
    const t = { customers: 'u_customers', customers__strangler_rows: 'u_customers__strangler_rows' };
    await db.exec(plain.ddl(t));
    await db.transaction((tx) => plain.apply(tx, history(), t));
    expect((await db.query(`SELECT id, name, credit_limit::text AS credit_limit, created FROM u_customers ORDER BY id`)).rows).toEqual([
      { id: 'c1', name: 'Ada', credit_limit: '10.00', created: null },
      { id: 'c3', name: 'Cyril', credit_limit: '0.30', created: null },
    ]);
  });
});
