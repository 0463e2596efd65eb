import { describe, expect, it } from 'vitest';
import { orderUpcasters } from '../../examples/legacy-orders/projections/orders/index.ts';
import type { Upcaster } from '../../src/projections/types.ts';
import { createUpcasterRegistry, schemaVersionOf } from '../../src/projections/upcast.ts';
import { orderEvents, recorded } from './projection-modules.events.ts';

const deepFreeze = <T>(o: T): T => {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
};

// A made-up evolution of one type in three steps, to pin the chaining.
const chain: Upcaster[] = [
  { type: 'Thing', fromVersion: 2, up: (d) => ({ ...(d as object), step2: true }) },
  { type: 'Thing', fromVersion: 1, up: (d) => ({ ...(d as object), step1: true }) },
];

describe('createUpcasterRegistry', () => {
  const [event] = recorded([
    {
      streamId: 'things-1',
      event: { id: '00000000-0000-4000-8000-000000000001', type: 'Thing', data: { a: 1 }, metadata: { schemaVersion: 1 } },
    },
  ]);

  it('chains v1 → v2 → v3 in order, whatever order the upcasters were registered in', () => {
    const out = createUpcasterRegistry(chain).upcast(event!);
    expect(out.data).toEqual({ a: 1, step1: true, step2: true });
    expect(out.metadata).toMatchObject({ schemaVersion: 3, upcastFrom: 1 });
  });

  it('starts at the stored version: a v2 event only takes the v2 → v3 step', () => {
    const v2 = { ...event!, metadata: { schemaVersion: 2 } };
    expect(createUpcasterRegistry(chain).upcast(v2).data).toEqual({ a: 1, step2: true });
  });

  it('takes a missing schemaVersion as 1', () => {
    const bare = { ...event!, metadata: {} };
    expect(schemaVersionOf(bare)).toBe(1);
    expect(createUpcasterRegistry(chain).upcast(bare).metadata.schemaVersion).toBe(3);
  });

  it('never changes the stored event', () => {
    const frozen = deepFreeze(structuredClone(event!));
    const before = structuredClone(frozen);
    createUpcasterRegistry(chain).upcast(frozen);
    expect(frozen).toEqual(before);
  });

  it('hands back the same object when nothing applies (current version, or a type without upcasters)', () => {
    const registry = createUpcasterRegistry(chain);
    const current = { ...event!, metadata: { schemaVersion: 3 } };
    expect(registry.upcast(current)).toBe(current);
    const other = { ...event!, type: 'Other' };
    expect(registry.upcast(other)).toBe(other);
    expect(registry.currentVersion('Thing')).toBe(3);
    expect(registry.currentVersion('Other')).toBe(1);
  });

  it('refuses two upcasters for one (type, version) and a bad schemaVersion', () => {
    expect(() => createUpcasterRegistry([...chain, chain[0]!])).toThrow(/Two upcasters for Thing from version 2/);
    expect(() => createUpcasterRegistry(chain).upcast({ ...event!, metadata: { schemaVersion: '2' } })).toThrow(/schemaVersion "2"/);
  });
});

describe('OrderItemAdded v1 → v2', () => {
  const registry = createUpcasterRegistry(orderUpcasters);

  it('renames price to unitPrice as decimal text, from a JSON number or a string', () => {
    const [asNumber, asString] = recorded([
      orderEvents.itemAdded('ord_1', { sku: 'S', quantity: 3, price: 0.1 }),
      orderEvents.itemAdded('ord_1', { sku: 'T', quantity: 1, price: '12.50' }),
    ]);
    expect(registry.upcast(asNumber!).data).toEqual({ sku: 'S', quantity: 3, unitPrice: '0.1' });
    expect(registry.upcast(asString!).data).toEqual({ sku: 'T', quantity: 1, unitPrice: '12.50' });
    expect(registry.upcast(asString!).metadata.schemaVersion).toBe(2);
  });

  it('leaves v2 events as they are', () => {
    const [v2] = recorded([orderEvents.itemAdded('ord_1', { sku: 'S', quantity: 3, price: '0.10' }, 2)]);
    expect(registry.upcast(v2!)).toBe(v2);
  });
});
