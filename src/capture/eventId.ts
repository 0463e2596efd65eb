import { createHash } from 'node:crypto';
import { uuidv7 } from '../eventstore/uuidv7.ts';

/**
 * The event id for a captured command. With an Idempotency-Key it is derived from the key
 * and the stream, so a client retry yields the same id and the store keeps one event
 * (a legacy that creates a second record under a new id gets a second stream, and event).
 */
export function captureEventId(
  idempotencyKey: string | undefined,
  parts: { entity: string; route: string; streamId: string; index: number },
): string {
  if (!idempotencyKey) return uuidv7();
  const h = createHash('sha256').update(`${parts.entity}\n${parts.route}\n${parts.streamId}\n${parts.index}\n${idempotencyKey}`).digest();
  // Shaped as an RFC 9562 version-8 (custom) UUID.
  h[6] = (h[6]! & 0x0f) | 0x80;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}
