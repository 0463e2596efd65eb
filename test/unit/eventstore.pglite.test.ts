import { openEventStore } from '../../src/eventstore/index.ts';
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
