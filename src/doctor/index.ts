export { runDoctor, type DoctorOptions } from './runDoctor.ts';
export { formatReport } from './formatReport.ts';
export { createEventStoreHealth, type EventStoreHealth } from './health.ts';
export { lagSeverity } from './severity.ts';
export { verifyStream, parseStreamId, type VerifyOptions, type VerifyResult } from './verify/verifyStream.ts';
export { formatVerify } from './verify/formatVerify.ts';
export type { FieldDifference } from './verify/compareOrder.ts';
export * from './types.ts';
