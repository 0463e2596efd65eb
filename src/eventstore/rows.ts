import type { RecordedEvent } from './types.ts';

/** recorded_at as ISO 8601 UTC text with microseconds. */
export const RECORDED_AT_UTC = `to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

// Output names differ from the column names on purpose: an ORDER BY transaction_id must
// sort the xid8 column, not its text rendering ('1000' < '999').
export const EVENT_COLUMNS = `global_position, stream_id, stream_version, event_id, event_type, data, metadata,
  ${RECORDED_AT_UTC} AS recorded_at_utc, transaction_id::text AS tx_id`;

export interface EventRow {
  global_position: string;
  stream_id: string;
  stream_version: string;
  event_id: string;
  event_type: string;
  data: string;
  metadata: string;
  recorded_at_utc: string;
  tx_id: string;
}

export function toRecordedEvent(r: EventRow): RecordedEvent {
  return {
    position: Number(r.global_position),
    streamId: r.stream_id,
    version: Number(r.stream_version),
    id: r.event_id,
    type: r.event_type,
    data: JSON.parse(r.data),
    metadata: JSON.parse(r.metadata) as Record<string, unknown>,
    recordedAt: r.recorded_at_utc,
    transactionId: r.tx_id,
  };
}
