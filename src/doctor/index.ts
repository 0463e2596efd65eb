export { runDoctor, type DoctorOptions } from './runDoctor.ts';
export { formatReport } from './formatReport.ts';
export { createEventStoreHealth, type EventStoreHealth } from './health.ts';
export { lagSeverity } from './severity.ts';
export { verifyStream, parseStreamId, type VerifyOptions, type VerifyResult, type VerifyTarget } from './verify/verifyStream.ts';
export { verifyTargets } from './verify/targets.ts';
export { formatVerify } from './verify/formatVerify.ts';
export type { FieldDifference } from './verify/compareRows.ts';
export * from './types.ts';
