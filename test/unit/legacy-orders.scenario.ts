/**
 * The legacy-orders behaviour, shared by the PGlite unit test and the MariaDB/PostgreSQL
 * integration test: call legacyOrdersScenario() inside a describe whose beforeAll has
 * started the service on a migrated database.
 */
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { expect, it } from 'vitest';
import type { Executor } from '../../src/db/executor.ts';
import { startLegacyOrders, type OrderJson, type OrderSummaryJson } from '../../examples/legacy-orders/index.ts';
import { sql } from '../../examples/legacy-orders/repository.ts';
import { isoFromDb } from '../../examples/legacy-orders/time.ts';

export interface ScenarioContext {
  /** Base URL of the running service, e.g. http://127.0.0.1:41234 */
  url: string;
  /** The service's database, for looking at what it stored. */
  db: Executor;
}

const ORDER_ID = /^ord_[0-9a-f]{16}$/;
const ISO_MICROS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

interface Reply<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

async function call<T = unknown>(base: string, method: string, path: string, body?: unknown): Promise<Reply<T>> {
  const init: RequestInit = { method };
  if (body !== undefined) {
    init.headers = { 'content-type': 'application/json' };
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const res = await fetch(base + path, init);
  const text = await res.text();
  const type = res.headers.get('content-type') ?? '';
  return { status: res.status, headers: res.headers, body: (type.includes('json') && text ? JSON.parse(text) : text) as T };
}

/** A customer id no other test (or earlier run on the same database) uses. */
const newCustomer = () => `cust-${randomBytes(4).toString('hex')}`;

/** GET over a raw socket: the head as text and the body's chunks exactly as framed on the wire. */
async function rawGet(base: string, path: string): Promise<{ head: string; chunks: Buffer[] }> {
  const u = new URL(base);
  const socket = net.connect(Number(u.port), u.hostname);
  socket.write(`GET ${path} HTTP/1.1\r\nHost: ${u.host}\r\nConnection: close\r\n\r\n`);
  const parts: Buffer[] = [];
  for await (const part of socket) parts.push(part as Buffer);
  const all = Buffer.concat(parts);
  const headEnd = all.indexOf('\r\n\r\n');
  const head = all.subarray(0, headEnd).toString('latin1');
  const chunks: Buffer[] = [];
  if (/\r\ntransfer-encoding: chunked/i.test(head)) {
    let pos = headEnd + 4;
    for (;;) {
      const lineEnd = all.indexOf('\r\n', pos);
      const size = Number.parseInt(all.subarray(pos, lineEnd).toString('latin1'), 16);
      if (!(size > 0)) break;
      chunks.push(all.subarray(lineEnd + 2, lineEnd + 2 + size));
      pos = lineEnd + 2 + size + 2;
    }
  }
  return { head, chunks };
}

export function legacyOrdersScenario(ctx: () => ScenarioContext): void {
  const createOrder = async (customerId: string, items: unknown[] = [{ sku: 'SKU-1', quantity: 1, price: '10.00' }]) => {
    const res = await call<OrderJson>(ctx().url, 'POST', '/orders', { customerId, items });
    expect(res.status).toBe(201);
    return res.body;
  };

  it('answers GET /health with 200 ok', async () => {
    const res = await call(ctx().url, 'GET', '/health');
    expect(res.status).toBe(200);
    expect(res.body).toBe('ok');
  });

  it('creates an order with a generated id, an exact total and its items', async () => {
    const customerId = newCustomer();
    const res = await call<OrderJson>(ctx().url, 'POST', '/orders', {
      customerId,
      items: [
        { sku: 'B-2', quantity: 1, price: 0.2 },
        { sku: 'A-1', quantity: 3, price: '0.10' },
      ],
    });
    expect(res.status).toBe(201);
    const order = res.body;
    expect(order.id).toMatch(ORDER_ID);
    expect(res.headers.get('location')).toBe(`/orders/${order.id}`);
    expect(order).toMatchObject({
      customerId,
      status: 'CREATED',
      totalAmount: '0.50',
      items: [
        { sku: 'A-1', quantity: 3, price: '0.10' },
        { sku: 'B-2', quantity: 1, price: '0.20' },
      ],
    });
    expect(Object.keys(order)).toEqual(['id', 'customerId', 'status', 'totalAmount', 'items', 'createdAt', 'updatedAt']);
    expect(order.createdAt).toMatch(ISO_MICROS);
    expect(order.updatedAt).toBe(order.createdAt);
    expect(Math.abs(Date.parse(order.createdAt) - Date.now())).toBeLessThan(60_000); // stored as UTC
  });

  it('stores DECIMAL(12,2) amounts and UTC microsecond timestamps that match the JSON', async () => {
    const order = await createOrder(newCustomer(), [{ sku: 'S', quantity: 7, price: '1234.56' }]);
    const { rows } = await sql<{ total_amount: string; created_at: string; price: string }>(
      ctx().db,
      'SELECT o.total_amount, o.created_at, i.price FROM orders o JOIN order_items i ON i.order_id = o.id WHERE o.id = $1',
      [order.id],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.total_amount).toBe('8641.92');
    expect(rows[0]!.price).toBe('1234.56');
    expect(isoFromDb(rows[0]!.created_at)).toBe(order.createdAt);
  });

  it('renders a timestamp with six fractional digits whatever the driver prints', async () => {
    // 2024-03-02 01:01:07.000010: PostgreSQL prints ".00001", MariaDB ".000010".
    const fixed = await startLegacyOrders({ db: ctx().db, clock: () => 1_709_341_267_000_010n });
    try {
      const created = await call<OrderJson>(fixed.url, 'POST', '/orders', {
        customerId: newCustomer(),
        items: [{ sku: 'T', quantity: 1, price: 1 }],
      });
      expect(created.body.createdAt).toBe('2024-03-02T01:01:07.000010Z');
      const read = await call<OrderJson>(ctx().url, 'GET', `/orders/${created.body.id}`);
      expect(read.body.createdAt).toBe('2024-03-02T01:01:07.000010Z');
      expect(read.body.totalAmount).toBe('1.00');
    } finally {
      await fixed.close();
    }
  });

  it('GET /orders/:id returns the order; an unknown id is 404 with the service error body', async () => {
    const order = await createOrder(newCustomer());
    const found = await call<OrderJson>(ctx().url, 'GET', `/orders/${order.id}`);
    expect(found.status).toBe(200);
    expect(found.body).toEqual(order);

    const missing = await call(ctx().url, 'GET', '/orders/ord_0000000000000000');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: 'not_found', message: 'Order ord_0000000000000000 not found' });
  });

  it('lists the orders of one customer, oldest first, as summaries without items', async () => {
    const customerId = newCustomer();
    const first = await createOrder(customerId);
    const second = await createOrder(customerId, [{ sku: 'X', quantity: 2, price: '2.50' }]);
    await createOrder(newCustomer());

    const res = await call<OrderSummaryJson[]>(ctx().url, 'GET', `/orders?customerId=${customerId}`);
    expect(res.status).toBe(200);
    const { items: _a, ...firstSummary } = first;
    const { items: _b, ...secondSummary } = second;
    expect(res.body).toEqual([firstSummary, secondSummary]);

    const none = await call(ctx().url, 'GET', `/orders?customerId=${newCustomer()}`);
    expect(none.body).toEqual([]);
    const bad = await call(ctx().url, 'GET', '/orders?customerId=%20');
    expect(bad.status).toBe(400);
  });

  it('pages GET /orders with optional limit and offset; without them every order, as before', async () => {
    const customerId = newCustomer();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await createOrder(customerId)).id);
    const page = async (q: string) =>
      (await call<OrderSummaryJson[]>(ctx().url, 'GET', `/orders?customerId=${customerId}${q}`)).body.map((o) => o.id);
    expect(await page('')).toEqual(ids);
    expect(await page('&limit=2')).toEqual(ids.slice(0, 2));
    expect(await page('&limit=2&offset=2')).toEqual(ids.slice(2, 4));
    expect(await page('&offset=3')).toEqual(ids.slice(3));
    expect(await page('&limit=1000&offset=5')).toEqual([]);
    for (const q of ['limit=0', 'limit=1001', 'limit=x', 'offset=-1', 'limit=1&limit=2']) {
      const bad = await call(ctx().url, 'GET', `/orders?${q}`);
      expect(bad.status, q).toBe(400);
      expect(bad.body, q).toMatchObject({
        error: 'validation_failed',
        message: expect.stringMatching(/^(limit|offset) must be an integer from/),
      });
    }
  });

  it('adding an item recomputes the total exactly (0.10 + 0.20 = 0.30)', async () => {
    const order = await createOrder(newCustomer(), [{ sku: 'X', quantity: 1, price: '0.10' }]);
    const res = await call<OrderJson>(ctx().url, 'POST', `/orders/${order.id}/items`, { sku: 'Y', quantity: 1, price: 0.2 });
    expect(res.status).toBe(201);
    expect(res.body.totalAmount).toBe('0.30');
    expect(res.body.items).toEqual([
      { sku: 'X', quantity: 1, price: '0.10' },
      { sku: 'Y', quantity: 1, price: '0.20' },
    ]);
    expect(res.body.createdAt).toBe(order.createdAt);
    expect(res.body.updatedAt >= order.updatedAt).toBe(true);

    const again = await call(ctx().url, 'POST', `/orders/${order.id}/items`, { sku: 'Y', quantity: 5, price: '1.00' });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ error: 'item_exists' });

    const missing = await call(ctx().url, 'POST', '/orders/ord_ffffffffffffffff/items', { sku: 'Y', quantity: 1, price: '1' });
    expect(missing.status).toBe(404);
  });

  it('pays a CREATED order once; paying again or adding items afterwards is 409', async () => {
    const order = await createOrder(newCustomer());
    const paid = await call<OrderJson>(ctx().url, 'POST', `/orders/${order.id}/pay`);
    expect(paid.status).toBe(200);
    expect(paid.body.status).toBe('PAID');

    const twice = await call(ctx().url, 'POST', `/orders/${order.id}/pay`);
    expect(twice.status).toBe(409);
    expect(twice.body).toMatchObject({ error: 'invalid_transition' });

    const item = await call(ctx().url, 'POST', `/orders/${order.id}/items`, { sku: 'LATE', quantity: 1, price: '1.00' });
    expect(item.status).toBe(409);
    expect(item.body).toMatchObject({ error: 'order_not_open' });
  });

  it('cancels CREATED and PAID orders, but not a CANCELLED one', async () => {
    const created = await createOrder(newCustomer());
    const c1 = await call<OrderJson>(ctx().url, 'POST', `/orders/${created.id}/cancel`);
    expect(c1.status).toBe(200);
    expect(c1.body.status).toBe('CANCELLED');

    const paid = await createOrder(newCustomer());
    await call(ctx().url, 'POST', `/orders/${paid.id}/pay`);
    const c2 = await call<OrderJson>(ctx().url, 'POST', `/orders/${paid.id}/cancel`);
    expect(c2.status).toBe(200);
    expect(c2.body.status).toBe('CANCELLED');

    const again = await call(ctx().url, 'POST', `/orders/${paid.id}/cancel`);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ error: 'invalid_transition' });
    const pay = await call(ctx().url, 'POST', `/orders/${paid.id}/pay`);
    expect(pay.status).toBe(409);
  });

  it('PATCH updates customerId and moves status only along allowed transitions', async () => {
    const order = await createOrder(newCustomer());
    const newOwner = newCustomer();
    const moved = await call<OrderJson>(ctx().url, 'PATCH', `/orders/${order.id}`, { customerId: newOwner });
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ customerId: newOwner, status: 'CREATED', totalAmount: order.totalAmount });

    const paid = await call<OrderJson>(ctx().url, 'PATCH', `/orders/${order.id}`, { status: 'PAID' });
    expect(paid.status).toBe(200);
    expect(paid.body.status).toBe('PAID');

    const back = await call(ctx().url, 'PATCH', `/orders/${order.id}`, { status: 'CREATED' });
    expect(back.status).toBe(409);
    expect(back.body).toMatchObject({ error: 'invalid_transition' });

    const same = await call<OrderJson>(ctx().url, 'PATCH', `/orders/${order.id}`, { status: 'PAID' });
    expect(same.status).toBe(200);

    const nothing = await call(ctx().url, 'PATCH', `/orders/${order.id}`, {});
    expect(nothing.status).toBe(400);
    const missing = await call(ctx().url, 'PATCH', '/orders/ord_0000000000000001', { status: 'PAID' });
    expect(missing.status).toBe(404);
  });

  it('DELETE answers 204 and the order is gone (404) afterwards', async () => {
    const order = await createOrder(newCustomer(), [
      { sku: 'A', quantity: 1, price: '1.00' },
      { sku: 'B', quantity: 1, price: '2.00' },
    ]);
    const del = await call(ctx().url, 'DELETE', `/orders/${order.id}`);
    expect(del.status).toBe(204);
    expect(del.body).toBe('');
    expect((await call(ctx().url, 'GET', `/orders/${order.id}`)).status).toBe(404);
    const again = await call(ctx().url, 'DELETE', `/orders/${order.id}`);
    expect(again.status).toBe(404);
    expect(again.body).toMatchObject({ error: 'not_found' });
    const { rows } = await sql(ctx().db, 'SELECT sku FROM order_items WHERE order_id = $1', [order.id]);
    expect(rows).toEqual([]);
  });

  it('rejects invalid input with 400 and the validation_failed body', async () => {
    const bad: unknown[] = [
      {},
      { customerId: 'c1' },
      { customerId: 'c1', items: [] },
      { customerId: '', items: [{ sku: 'A', quantity: 1, price: '1.00' }] },
      { customerId: 'c1', items: [{ sku: 'A', quantity: 0, price: '1.00' }] },
      { customerId: 'c1', items: [{ sku: 'A', quantity: 1.5, price: '1.00' }] },
      { customerId: 'c1', items: [{ sku: 'A', quantity: 1, price: '0.125' }] },
      { customerId: 'c1', items: [{ sku: 'A', quantity: 1, price: -1 }] },
      { customerId: 'c1', items: [{ sku: 'A', quantity: 1, price: '1e3' }] },
      {
        customerId: 'c1',
        items: [
          { sku: 'A', quantity: 1, price: '1.00' },
          { sku: 'A', quantity: 1, price: '1.00' },
        ],
      },
      { customerId: 'c1', items: [{ sku: 'A', quantity: 1_000_000, price: '9999999999.99' }] },
      [],
    ];
    for (const body of bad) {
      const res = await call<{ error: string; message: string }>(ctx().url, 'POST', '/orders', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error).toBe('validation_failed');
      expect(typeof res.body.message).toBe('string');
    }
    const order = await createOrder(newCustomer());
    const status = await call(ctx().url, 'PATCH', `/orders/${order.id}`, { status: 'SHIPPED' });
    expect(status.status).toBe(400);
    expect(status.body).toMatchObject({ error: 'validation_failed' });

    const noType = await fetch(`${ctx().url}/orders`, { method: 'POST', body: '{"customerId":"c1"}' });
    expect(noType.status).toBe(400);
    expect(await noType.json()).toMatchObject({ error: 'validation_failed' });
  });

  it('answers malformed JSON with 400 and the service own body', async () => {
    const res = await call(ctx().url, 'POST', '/orders', '{"customerId": "c1", items: [');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'malformed_json', message: 'Request body is not valid JSON (an object is expected).' });
  });

  it('answers unknown routes with 404 and the service own body', async () => {
    const res = await call(ctx().url, 'GET', '/nope');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: 'not_found', message: 'No route for GET /nope' });
  });

  it('serialises concurrent commands on one order (SELECT … FOR UPDATE)', async () => {
    const order = await createOrder(newCustomer(), [{ sku: 'BASE', quantity: 1, price: '0.01' }]);
    const adds = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        call(ctx().url, 'POST', `/orders/${order.id}/items`, { sku: `C-${i}`, quantity: i + 1, price: '0.10' }),
      ),
    );
    expect(adds.map((r) => r.status)).toEqual(Array(8).fill(201));
    const after = await call<OrderJson>(ctx().url, 'GET', `/orders/${order.id}`);
    expect(after.body.items).toHaveLength(9);
    expect(after.body.totalAmount).toBe('3.61'); // 0.01 + 0.10 × (1 + … + 8)

    const pays = await Promise.all(Array.from({ length: 5 }, () => call(ctx().url, 'POST', `/orders/${order.id}/pay`)));
    expect(pays.map((r) => r.status).sort()).toEqual([200, 409, 409, 409, 409]);
  });

  it('PUT /orders/:id/attachment hashes a 5 MB raw body and refuses more than 20 MiB', async () => {
    const body = randomBytes(5 * 1024 * 1024);
    const res = await fetch(`${ctx().url}/orders/ord_any/attachment`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body,
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') });

    const asJson = await fetch(`${ctx().url}/orders/ord_any/attachment`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: '{not json',
    });
    expect(await asJson.json()).toEqual({ bytes: 9, sha256: createHash('sha256').update('{not json').digest('hex') });

    const tooBig = await fetch(`${ctx().url}/orders/ord_any/attachment`, { method: 'PUT', body: Buffer.alloc(20 * 1024 * 1024 + 1) });
    expect(tooBig.status).toBe(413);
    expect(await tooBig.json()).toMatchObject({ error: 'payload_too_large' });
  });

  it('GET /orders/export streams every order as NDJSON, chunked, one chunk per order', async () => {
    const mine = [await createOrder(newCustomer()), await createOrder(newCustomer()), await createOrder(newCustomer())];
    // A small page size makes the export paginate (keyset) with pauses between pages.
    const paged = await startLegacyOrders({ db: ctx().db, exportPageSize: 2, exportDelayMs: 5 });
    try {
      const { head, chunks } = await rawGet(paged.url, '/orders/export');
      expect(head).toMatch(/^HTTP\/1\.1 200/);
      expect(head).toMatch(/\r\ntransfer-encoding: chunked/i);
      expect(head).not.toMatch(/\r\ncontent-length:/i);
      expect(head).toMatch(/\r\ncontent-type: application\/x-ndjson/i);

      const text = Buffer.concat(chunks).toString('utf8');
      expect(text.endsWith('\n')).toBe(true);
      const lines = text
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as OrderJson);
      expect(chunks.length).toBe(lines.length);
      const { rows } = await sql<{ n: number | string }>(ctx().db, 'SELECT COUNT(*) AS n FROM orders');
      expect(lines.length).toBe(Number(rows[0]!.n));
      const ids = lines.map((o) => o.id);
      expect(ids).toEqual([...ids].sort());
      expect(new Set(ids).size).toBe(ids.length);
      for (const order of mine) expect(lines.find((o) => o.id === order.id)).toEqual(order);
    } finally {
      await paged.close();
    }
  });
}
