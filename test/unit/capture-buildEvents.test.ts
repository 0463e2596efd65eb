import { describe, expect, it } from 'vitest';
import { CAPTURE_SCHEMA_VERSION, buildEvents, type CaptureInput } from '../../src/capture/buildEvents.ts';
import type { RowReader } from '../../src/capture/legacyRow.ts';
import { loadConfig } from '../../src/config/index.ts';
import type { CommandSpec } from '../../src/config/schema.ts';

const SPEC = `
# capture: row needs a legacy database URL to validate; nothing connects to it here.
legacy: { upstream: "http://127.0.0.1:3000", database: { url: "postgres://legacy@127.0.0.1:1/legacy" } }
eventStore: { url: memory }
entities:
  orders:
    stream: "orders-{id}"
    legacy: { table: legacy_orders, key: order_id }
    redact: [cardNumber]
    commands:
      - { route: "POST /orders",            event: OrderCreated,   id: "$.id", capture: response }
      - { route: "POST /orders/import",     event: OrderImported,  id: "$.order.id", capture: request }
      - { route: "PATCH /orders/:id",       event: OrderUpdated,   data: [customerId, status, payment] }
      - { route: "POST /orders/:id/items",  event: OrderItemAdded, capture: request }
      - { route: "POST /orders/:id/pay",    event: OrderPaid,      capture: row }
`;
const config = loadConfig({ text: SPEC, env: {} });
const entityConfig = config.entities.orders!;
const command = (route: string): CommandSpec => entityConfig.commands.find((c) => c.route === route)!;

function input(route: string, over: Partial<CaptureInput> = {}): CaptureInput {
  return {
    entity: 'orders',
    entityConfig,
    command: command(route),
    params: {},
    method: route.split(' ')[0]!,
    path: '/orders',
    requestId: 'req-1',
    requestHeaders: {},
    requestBody: Buffer.alloc(0),
    responseStatus: 200,
    responseBody: Buffer.alloc(0),
    actorHeader: 'x-user-id',
    ...over,
  };
}

const body = (v: unknown) => Buffer.from(JSON.stringify(v));

async function ok(i: CaptureInput) {
  const r = await buildEvents(i);
  if (!r.ok) throw new Error(`expected events, got ${r.reason}: ${r.detail}`);
  return r;
}

describe('buildEvents: stream id', () => {
  it('comes from the route parameter :id', async () => {
    const r = await ok(input('POST /orders/:id/items', { params: { id: 'ord_1' }, requestBody: body({ sku: 'A' }) }));
    expect(r.streamId).toBe('orders-ord_1');
    expect(r.events).toHaveLength(1);
    expect(r.events[0]!.type).toBe('OrderItemAdded');
  });

  it('comes from the JSON path of the answer ($.id), a number included', async () => {
    expect((await ok(input('POST /orders', { responseStatus: 201, responseBody: body({ id: 'ord_9' }) }))).streamId).toBe('orders-ord_9');
    expect((await ok(input('POST /orders', { responseStatus: 201, responseBody: body({ id: 42 }) }))).streamId).toBe('orders-42');
  });

  it('follows a nested JSON path ($.order.id)', async () => {
    const r = await ok(input('POST /orders/import', { requestBody: body({ x: 1 }), responseBody: body({ order: { id: 'ord_n' } }) }));
    expect(r.streamId).toBe('orders-ord_n');
  });

  it('no id in the answer, or an empty one: ok false, reason no_id', async () => {
    for (const answer of [{ other: 1 }, { id: '' }, { id: null }, { id: { nested: 1 } }, [1, 2]]) {
      const r = await buildEvents(input('POST /orders', { responseBody: body(answer) }));
      expect(r).toMatchObject({ ok: false, reason: 'no_id' });
    }
  });

  it('an answer that is not JSON: ok false, reason not_json', async () => {
    const r = await buildEvents(input('POST /orders', { responseBody: Buffer.from('<html>created</html>') }));
    expect(r).toMatchObject({ ok: false, reason: 'not_json' });
  });
});

describe('buildEvents: data', () => {
  it('capture: request takes the request body, with redacted fields removed at any depth', async () => {
    const requestBody = body({
      sku: 'A',
      cardNumber: '4111',
      payment: { cardNumber: '4111', last4: '1111' },
      lines: [{ cardNumber: '4111', n: 1 }],
    });
    const r = await ok(input('POST /orders/:id/items', { params: { id: 'ord_1' }, requestBody }));
    expect(r.events[0]!.data).toEqual({ sku: 'A', payment: { last4: '1111' }, lines: [{ n: 1 }] });
  });

  it('capture: request with an empty body is {}', async () => {
    expect((await ok(input('POST /orders/:id/items', { params: { id: 'ord_1' } }))).events[0]!.data).toEqual({});
  });

  it('capture: request with a body that is not JSON: ok false, reason not_json', async () => {
    const r = await buildEvents(input('POST /orders/:id/items', { params: { id: 'ord_1' }, requestBody: Buffer.from('sku=A') }));
    expect(r).toMatchObject({ ok: false, reason: 'not_json' });
  });

  it('capture: response takes the answer, redacted', async () => {
    const responseBody = body({ id: 'ord_9', status: 'CREATED', payment: { cardNumber: '4111', brand: 'visa' } });
    const r = await ok(input('POST /orders', { responseStatus: 201, responseBody }));
    expect(r.events[0]!.data).toEqual({ id: 'ord_9', status: 'CREATED', payment: { brand: 'visa' } });
  });

  it('capture: row reads the legacy row back by the entity key (the after-image), redacted', async () => {
    const asked: unknown[] = [];
    const readRow: RowReader = async (table, key, id) => {
      asked.push([table, key, id]);
      return { order_id: id, status: 'PAID', total_amount: '19.98', cardNumber: '4111' };
    };
    const r = await ok(input('POST /orders/:id/pay', { params: { id: 'ord_1' }, readRow }));
    expect(asked).toEqual([['legacy_orders', 'order_id', 'ord_1']]);
    expect(r.events[0]!.data).toEqual({ order_id: 'ord_1', status: 'PAID', total_amount: '19.98' });
  });

  it('capture: row with no row, or no row reader: ok false with the reason', async () => {
    const missing = await buildEvents(input('POST /orders/:id/pay', { params: { id: 'ord_1' }, readRow: async () => null }));
    expect(missing).toMatchObject({ ok: false, reason: 'row_not_found' });
    const noReader = await buildEvents(input('POST /orders/:id/pay', { params: { id: 'ord_1' } }));
    expect(noReader).toMatchObject({ ok: false, reason: 'no_row_reader' });
  });

  it('`data` keeps only the listed top-level fields, and redaction still applies inside them', async () => {
    const requestBody = body({ customerId: 'c-1', status: 'PAID', note: 'drop me', payment: { cardNumber: '4111', last4: '1111' } });
    const r = await ok(input('PATCH /orders/:id', { params: { id: 'ord_1' }, requestBody }));
    expect(r.events[0]!.data).toEqual({ customerId: 'c-1', status: 'PAID', payment: { last4: '1111' } });
    const partial = await ok(input('PATCH /orders/:id', { params: { id: 'ord_1' }, requestBody: body({ status: 'PAID' }) }));
    expect(partial.events[0]!.data).toEqual({ status: 'PAID' });
  });
});

describe('buildEvents: metadata', () => {
  it('carries request id, correlation id, actor, traceparent, idempotency key, schema version and the route', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const r = await ok(
      input('POST /orders/:id/items', {
        params: { id: 'ord_1' },
        method: 'POST',
        path: '/orders/ord_1/items?x=1',
        requestId: 'req-7',
        requestHeaders: { 'x-correlation-id': 'corr-3', 'x-user-id': 'alice', traceparent, 'idempotency-key': 'idem-1' },
        requestBody: body({ sku: 'A' }),
        responseStatus: 201,
      }),
    );
    const event = r.events[0]!;
    expect(event.metadata).toEqual({
      schemaVersion: CAPTURE_SCHEMA_VERSION,
      eventId: event.id,
      requestId: 'req-7',
      correlationId: 'corr-3',
      route: 'POST /orders/:id/items',
      method: 'POST',
      path: '/orders/ord_1/items?x=1',
      params: { id: 'ord_1' },
      status: 201,
      capture: 'request',
      actor: 'alice',
      traceparent,
      idempotencyKey: 'idem-1',
    });
    expect(CAPTURE_SCHEMA_VERSION).toBe(1);
  });

  it('without those headers: correlation id = request id, no actor, traceparent or idempotency key', async () => {
    const r = await ok(input('POST /orders/:id/items', { params: { id: 'ord_1' }, requestId: 'req-8' }));
    const m = r.events[0]!.metadata!;
    expect(m.correlationId).toBe('req-8');
    expect(m).not.toHaveProperty('actor');
    expect(m).not.toHaveProperty('traceparent');
    expect(m).not.toHaveProperty('idempotencyKey');
  });

  it('the actor comes from the configured header', async () => {
    const r = await ok(
      input('POST /orders/:id/items', {
        params: { id: 'ord_1' },
        actorHeader: 'x-operator',
        requestHeaders: { 'x-operator': 'bob', 'x-user-id': 'alice' },
      }),
    );
    expect(r.events[0]!.metadata!.actor).toBe('bob');
  });

  it('the event id is derived from the Idempotency-Key (same key → same id), random without one', async () => {
    const withKey = (key: string) =>
      ok(input('POST /orders/:id/items', { params: { id: 'ord_1' }, requestHeaders: { 'idempotency-key': key } }));
    expect((await withKey('k1')).events[0]!.id).toBe((await withKey('k1')).events[0]!.id);
    expect((await withKey('k1')).events[0]!.id).not.toBe((await withKey('k2')).events[0]!.id);
    const plain = () => ok(input('POST /orders/:id/items', { params: { id: 'ord_1' } }));
    expect((await plain()).events[0]!.id).not.toBe((await plain()).events[0]!.id);
  });
});
