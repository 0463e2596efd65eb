import { StranglerError, type RecordedEvent, type Upcaster } from 'strangler-sidecar/projections';

/**
 * The worked example of schema evolution. OrderItemAdded v1 is the raw request body of
 * POST /orders/:id/items, `{ sku, quantity, price }`, where `price` may be a JSON number
 * or a string. v2 names it `unitPrice` and always writes decimal text, so a consumer never
 * has to guess. A capture mapping that writes v2 (metadata.schemaVersion 2) and the v1
 * events already in the log then project the same read model.
 *
 * Published v1 events stay as they are: this runs on the way into handlers.
 */
export const orderItemAddedV1toV2: Upcaster = {
  type: 'OrderItemAdded',
  fromVersion: 1,
  up(data: unknown, event: RecordedEvent): unknown {
    if (typeof data !== 'object' || data === null || Array.isArray(data)) {
      throw new StranglerError('malformed_event', `OrderItemAdded ${event.id} v1: data is not an object.`, {
        details: { eventId: event.id },
      });
    }
    const { price, ...rest } = data as Record<string, unknown>;
    // JS prints a finite number in its shortest round-trip form: 9.99 → "9.99", 12.5 → "12.5".
    return { ...rest, unitPrice: typeof price === 'number' ? String(price) : price };
  },
};

export const orderUpcasters: readonly Upcaster[] = [orderItemAddedV1toV2];
