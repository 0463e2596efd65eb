export * from './types.ts';
export * from './errors.ts';
export { createEventStore, openEventStore, type EventStore, type OpenEventStoreOptions } from './eventStore.ts';
export { createAppendSignal, APPENDED_CHANNEL } from './appendSignal.ts';
export { streamsWithEventsAfter } from './streamsAfter.ts';
export { appendToStream } from './appendToStream.ts';
export { streamVersion } from './readStream.ts';
export { createAppendGroups, DEFAULT_APPEND_GROUPS, type AppendGroupOptions, type AppendGroupStats } from './appendGroups.ts';
