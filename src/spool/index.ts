export type { Spool, SpoolEntry, SpoolEvent, SpooledEntry, SpoolPosition, SpoolStats } from './types.ts';
export { SpoolCorruptError, SpoolUnavailableError } from './errors.ts';
export { openSpool, type OpenSpoolOptions } from './spool.ts';
export { createSpoolDrainer, type SpoolDrainer, type SpoolDrainerOptions, type SpoolDrainerState } from './drainer.ts';
