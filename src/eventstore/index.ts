export * from './types.ts';
export * from './errors.ts';
export { createEventStore, openEventStore, type EventStore, type OpenEventStoreOptions } from './eventStore.ts';
export { createAppendSignal, APPENDED_CHANNEL } from './appendSignal.ts';
