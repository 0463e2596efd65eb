import { describe, expect, it } from 'vitest';
import { buildEvents, type CaptureInput } from '../../src/capture/buildEvents.ts';
import { loadConfig } from '../../src/config/index.ts';

// `responseData`: fields of legacy's 2xx answer added to the event data, whatever is captured.
const config = (commands: string, redact = '[cardNumber]') =>
  loadConfig({
    text: `
legacy: { upstream: "http://127.0.0.1:3000", database: { url: "postgres://legacy@127.0.0.1:1/legacy" } }
eventStore: { url: memory }
entities:
  orders:
    redact: ${redact}
    commands:
${commands}
`,
    env: {},
  });

const SPEC = config(`
      - { route: "PATCH /orders/:id",        event: OrderUpdated,   data: [customerId, status], responseData: ["$.updatedAt"] }
      - { route: "POST /orders/:id/pay",     event: OrderPaid,      responseData: [updatedAt, order.meta.version, $.payment] }
      - { route: "POST /orders/:id/items",   event: OrderItemAdded, capture: request, root: $.item, responseData: [$.updatedAt] }
      - { route: "POST /orders/:id/archive", event: OrderArchived,  capture: row, responseData: [$.archivedAt] }
      - { route: "POST /orders/:id/copy",    event: OrderCopied,    capture: response, root: $.order, responseData: [$.servedBy] }
`);
const entityConfig = SPEC.entities.orders!;
const body = (v: unknown) => Buffer.from(JSON.stringify(v));

function input(route: string, over: Partial<CaptureInput>): CaptureInput {
  return {
    entity: 'orders',
    entityConfig,
    command: entityConfig.commands.find((c) => c.route === route)!,
    params: { id: 'ord_1' },
    method: route.split(' ')[0]!,
    path: '/orders/ord_1',
    requestId: 'req-1',
    requestHeaders: {},
    requestBody: Buffer.alloc(0),
    responseStatus: 200,
    responseBody: Buffer.alloc(0),
    actorHeader: 'x-user-id',
    ...over,
  };
}

async function data(i: CaptureInput): Promise<unknown> {
  const r = await buildEvents(i);
  if (!r.ok) throw new Error(`expected events, got ${r.reason}: ${r.detail}`);
  return r.events[0]!.data;
}

const STAMP = '2026-01-05T10:00:00.000123Z';

describe('responseData', () => {
  it('the config keeps the paths as $. paths', () => {
    expect(entityConfig.commands[1]!.responseData).toEqual(['$.updatedAt', '$.order.meta.version', '$.payment']);
  });

  it("adds legacy's value to the captured request fields, under the last key", async () => {
    const answer = body({ id: 'ord_1', customerId: 'c2', status: 'CREATED', updatedAt: STAMP });
    expect(await data(input('PATCH /orders/:id', { requestBody: body({ customerId: 'c2' }), responseBody: answer }))).toEqual({
      customerId: 'c2',
      updatedAt: STAMP,
    });
    const nested = body({ updatedAt: STAMP, order: { meta: { version: 7 } } });
    expect(await data(input('POST /orders/:id/pay', { responseBody: nested }))).toEqual({ updatedAt: STAMP, version: 7 });
  });

  it('is a path into the whole answer, not relative to root', async () => {
    const r = input('POST /orders/:id/items', {
      requestBody: body({ item: { sku: 'A', quantity: 1 } }),
      responseBody: body({ updatedAt: STAMP, item: { updatedAt: 'not this one' } }),
    });
    expect(await data(r)).toEqual({ sku: 'A', quantity: 1, updatedAt: STAMP });
    const copy = input('POST /orders/:id/copy', { responseBody: body({ servedBy: 'node-2', order: { id: 'ord_1', servedBy: 'x' } }) });
    expect(await data(copy)).toEqual({ id: 'ord_1', servedBy: 'node-2' });
  });

  it("always comes from legacy's answer: the request's field of the same name is replaced, or dropped when the answer has none", async () => {
    const sent = body({ updatedAt: '1999-01-01T00:00:00Z', note: 'n' });
    expect(await data(input('POST /orders/:id/pay', { requestBody: sent, responseBody: body({ updatedAt: STAMP }) }))).toEqual({
      note: 'n',
      updatedAt: STAMP,
    });
    expect(await data(input('POST /orders/:id/pay', { requestBody: sent, responseBody: body({ other: 1 }) }))).toEqual({ note: 'n' });
  });

  it('a path missing from the answer, an empty answer or one that is not JSON leaves the field out; the event is still built', async () => {
    for (const responseBody of [
      body({ id: 'ord_1' }),
      body({ order: 'text' }),
      body([1, 2]),
      Buffer.alloc(0),
      Buffer.from('<html>ok</html>'),
    ]) {
      expect(await data(input('POST /orders/:id/pay', { responseBody }))).toEqual({});
    }
    expect(await data(input('POST /orders/:id/pay', { responseBody: body({ updatedAt: null }) }))).toEqual({ updatedAt: null });
  });

  it("redacts the added values like the rest of the data (the entity's redact list, at any depth)", async () => {
    const answer = body({ updatedAt: STAMP, payment: { method: 'card', cardNumber: '4111111111111111' } });
    expect(await data(input('POST /orders/:id/pay', { responseBody: answer }))).toEqual({ updatedAt: STAMP, payment: { method: 'card' } });
  });

  it('adds to a legacy row read back (capture: row)', async () => {
    const readRow = async () => ({ id: 'ord_1', status: 'ARCHIVED' });
    const r = input('POST /orders/:id/archive', { readRow, responseBody: body({ archivedAt: STAMP }) });
    expect(await data(r)).toEqual({ id: 'ord_1', status: 'ARCHIVED', archivedAt: STAMP });
  });

  it('data that is not a JSON object (a request body that is an array or null) is a capture error not_object', async () => {
    for (const requestBody of [body([{ sku: 'A' }]), body(null), body('text')]) {
      const r = await buildEvents(input('POST /orders/:id/pay', { requestBody, responseBody: body({ updatedAt: STAMP }) }));
      expect(r).toMatchObject({ ok: false, reason: 'not_object' });
      expect(!r.ok && r.detail).toMatch(
        /responseData adds fields to the event data, but the request body gives (an array|null|a string), not a JSON object/,
      );
    }
  });

  it('the empty_data check still applies to the captured part', async () => {
    const r = await buildEvents(input('PATCH /orders/:id', { requestBody: body({ other: 1 }), responseBody: body({ updatedAt: STAMP }) }));
    expect(r).toMatchObject({ ok: false, reason: 'empty_data' });
  });
});

describe('responseData config check', () => {
  it('refuses what is not a list of JSON paths, with an example', () => {
    expect(() => config(`      - { route: "POST /orders/:id/pay", event: OrderPaid, responseData: "$.updatedAt" }`)).toThrow(
      /entities\.orders\.commands\[0\]\.responseData: expected a list of JSON paths into the response body like \["\$\.updatedAt"\], got "\$\.updatedAt"\. Example: responseData: \["\$\.updatedAt"\]/,
    );
    expect(() => config(`      - { route: "POST /orders/:id/pay", event: OrderPaid, responseData: ["$.items[0].sku"] }`)).toThrow(
      /commands\[0\]\.responseData\[0\]: expected a JSON path into the response body like "\$\.updatedAt"/,
    );
  });

  it('refuses two paths landing in one field, a field also in data, and a redacted field', () => {
    expect(() =>
      config(`
      - { route: "POST /orders/:id/pay",    event: OrderPaid,    responseData: [$.updatedAt, $.order.updatedAt] }
      - { route: "PATCH /orders/:id",       event: OrderUpdated, data: [status, updatedAt], responseData: [$.updatedAt] }
      - { route: "POST /orders/:id/cancel", event: OrderCancelled, responseData: [$.payment.cardNumber] }`),
    ).toThrow(
      new RegExp(
        [
          String.raw`commands\[0\]\.responseData\[1\]: "\$\.order\.updatedAt" and "\$\.updatedAt" both land in the event field "updatedAt"; keep one`,
          String.raw`commands\[1\]\.responseData\[0\]: "updatedAt" is in data too \("updatedAt"\); responseData always takes it from legacy's answer: remove it from data`,
          String.raw`commands\[2\]\.responseData\[0\]: "cardNumber" is in the entity's redact list, so it would never reach the event`,
        ].join(String.raw`[\s\S]*`),
      ),
    );
  });
});
