import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../src/eventstore/types.ts';
import { orderAggregate } from '../../examples/legacy-orders/projections/orders/aggregate.ts';
import { canonicalJson, snapshotDigest } from '../../src/snapshots/digest.ts';
import { validateSnapshot } from '../../src/snapshots/validateSnapshot.ts';

const anchor: RecordedEvent = {
  position: 7,
  streamId: 's',
  version: 3,
  id: 'e3',
  type: 'OrderPaid',
  data: {},
  metadata: {},
  recordedAt: '2024-01-01T00:00:00.000000Z',
  transactionId: '9',
};
const state = orderAggregate.serialize({ ...orderAggregate.initial(), exists: true, id: 'ord_1', status: 'PAID', version: 3 });
const envelope = (over: Record<string, unknown> = {}) => ({
  format: 1,
  foldVersion: 1,
  anchor: { eventId: 'e3', position: 7 },
  digest: snapshotDigest({ streamId: 's', kind: 'order', foldVersion: 1, version: 3, anchorEventId: 'e3', state }),
  state,
  ...over,
});

describe('snapshot validation (anchor event + digest)', () => {
  it('canonical JSON ignores key order', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { f: 2, e: 3 }], c: null } })).toBe(
      canonicalJson({ a: { c: null, d: [1, { e: 3, f: 2 }] }, b: 1 }),
    );
  });

  it('accepts an untouched snapshot whose anchor event is still there', () => {
    const r = validateSnapshot({ streamId: 's', kind: 'order', version: 3, envelope: envelope() }, anchor, orderAggregate);
    expect(r.ok).toBe(true);
  });

  it('refuses an edited state, a moved version, a replaced anchor event and another fold version', () => {
    const edited = envelope({ state: { ...(state as object), status: 'CREATED' } });
    expect(validateSnapshot({ streamId: 's', kind: 'order', version: 3, envelope: edited }, anchor, orderAggregate)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/digest/),
    });
    expect(validateSnapshot({ streamId: 's', kind: 'order', version: 4, envelope: envelope() }, anchor, orderAggregate)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/digest/),
    });
    expect(
      validateSnapshot({ streamId: 's', kind: 'order', version: 3, envelope: envelope() }, { ...anchor, id: 'other' }, orderAggregate),
    ).toMatchObject({ ok: false, reason: expect.stringMatching(/the event at version 3 is other/) });
    expect(validateSnapshot({ streamId: 's', kind: 'order', version: 3, envelope: envelope() }, undefined, orderAggregate)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/no event at version 3/),
    });
    expect(
      validateSnapshot({ streamId: 's', kind: 'order', version: 3, envelope: envelope() }, anchor, { ...orderAggregate, version: 2 }),
    ).toMatchObject({ ok: false, reason: expect.stringMatching(/fold version 1, current is 2/) });
    expect(validateSnapshot({ streamId: 's', kind: 'order', version: 3, envelope: { hello: 'world' } }, anchor, orderAggregate).ok).toBe(
      false,
    );
  });
});
