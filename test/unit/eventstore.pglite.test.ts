import { describe, expect, it } from 'vitest';
import { createEventStore, openEventStore } from '../../src/eventstore/index.ts';
import { describeEventStoreContract } from '../contract/eventStoreContract.ts';
import { describeAppendGroupsContract } from '../contract/appendGroupsContract.ts';

// Embedded PGlite runs in-process: the contract runs here with no server.
describeEventStoreContract('embedded PGlite', async () => {
  const store = await openEventStore({ url: 'memory', migrate: true });
  return { store, cleanup: () => store.close() };
});

describeAppendGroupsContract('embedded PGlite', async () => {
  const store = await openEventStore({ url: 'memory', migrate: true });
  return { store, cleanup: () => store.close() };
});

describe('grouped appends on a store without the group function (migration 004 not applied)', () => {
  it('falls back to one statement per append, once, and stays there', async () => {
    const base = await openEventStore({ url: 'memory', migrate: true });
    try {
      await base.db.exec('DROP FUNCTION strangler_append_group(jsonb)');
      const store = createEventStore(base.db, 'old schema', { appendGroups: { maxInFlight: 1, maxAppends: 64, maxEventsPerAppend: 100 } });
      const streams = Array.from({ length: 4 }, (_, i) => `old-${i}`);
      const first = await Promise.all(streams.map((s) => store.append(s, [{ type: 'A', data: {} }])));
      expect(first.map((r) => r.events[0]!.version)).toEqual([1, 1, 1, 1]);
      expect(store.appendStats()).toEqual({ statements: 2, appends: 4, fallbacks: 1 });
      const second = await Promise.all(streams.map((s) => store.append(s, [{ type: 'B', data: {} }])));
      expect(second.map((r) => r.events[0]!.version)).toEqual([2, 2, 2, 2]);
      expect(store.appendStats()).toEqual({ statements: 2, appends: 4, fallbacks: 1 });
    } finally {
      await base.close();
    }
  });
});
