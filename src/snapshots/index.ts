export { rehydrate, type RehydrateOptions, type Rehydrated } from './rehydrate.ts';
export { loadSnapshot, saveSnapshot, deleteSnapshot, type SnapshotEnvelope, type StoredSnapshot } from './snapshotStore.ts';
export { validateSnapshot } from './validateSnapshot.ts';
export { canonicalJson, snapshotDigest } from './digest.ts';
