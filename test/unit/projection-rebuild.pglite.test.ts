import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEventStore, type EventStore } from '../../src/eventstore/index.ts';
import { readProjection, registerProjection } from '../../src/projections/runner/projectionRow.ts';
import { rebuildProjection } from '../../src/projections/runner/rebuild.ts';
import { createCounterProjection } from '../e2e/fixtures/projectionCounter.ts';

// The embedded store (PGlite) is one connection: a rebuild that read the log through the
// store while holding its switching transaction waited for itself, and the whole sidecar
// (appends, admin API) with it. `strangler projections rebuild orders` on the demo hung.
describe('rebuild on the embedded store (PGlite)', () => {
  let store: EventStore;
  beforeAll(async () => {
    store = await openEventStore({ url: 'memory', migrate: true });
  });
  afterAll(async () => {
    await store?.close();
  });

  it('builds, applies the tail and switches inside its transaction without waiting on itself', async () => {
    const module = createCounterProjection({ name: 'embedded_counter', tablePrefix: 'ec_' });
    await registerProjection(store.db, module, await store.epoch());
    for (let i = 0; i < 25; i++) await store.append(`s-${i % 3}`, [{ type: 'Counted', data: { amount: 1 } }]);
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('the rebuild did not finish within 15 s (waiting on its own transaction)')), 15_000);
    });
    // batchSize 10: two batches while building, the last 5 events inside the switching transaction.
    const result = await Promise.race([rebuildProjection({ store, module, owner: 'test', batchSize: 10 }), hung]).finally(() =>
      clearTimeout(timer),
    );
    expect(result).toMatchObject({ applied: 25, position: 25 });
    const row = (await readProjection(store.db, 'embedded_counter'))!;
    expect([row.checkpoint.position, row.rebuild]).toEqual([25, null]);
    const { rows } = await store.db.query<{ n: string }>(`SELECT sum(n)::text AS n FROM "${row.tables.ec_counter_totals}"`);
    expect(rows[0]!.n).toBe('25');
  });
});
