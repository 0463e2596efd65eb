import { createHash } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import express from 'express';
import type { Request } from 'express';
import type { Executor } from 'strangler-sidecar';
import { HttpError, errorHandler, notFoundHandler, orderNotFound, validationFailed } from './errors.ts';
import { centsFromDb } from './money.ts';
import {
  deleteOrder,
  findItemRows,
  findOrder,
  insertItem,
  insertOrder,
  listOrderRows,
  lockOrderRow,
  newOrderId,
  pageOrders,
  toSummaryJson,
  updateOrder,
  type OrderJson,
  type OrderRow,
} from './repository.ts';
import { systemClock, toDbTimestamp, type Clock } from './time.ts';
import { canTransition, parseCreateOrder, parseIdentifier, parseItem, parsePage, parsePatchOrder, totalCents } from './validation.ts';

export interface LegacyOrdersOptions {
  /** The legacy database (MySQL/MariaDB, PostgreSQL or PGlite), already migrated. The caller owns it. */
  db: Executor;
  /** Epoch microseconds; defaults to the system clock. */
  clock?: Clock;
  /** Orders per NDJSON export page; each page is read by keyset pagination. Default 50. */
  exportPageSize?: number;
  /** Pause between export pages, so a proxy that buffers instead of streaming shows it. Default 10 ms. */
  exportDelayMs?: number;
  /** Unexpected errors (answered with 500). Default: printed to stderr. */
  onError?: (err: unknown) => void;
}

/** Raw attachment bodies up to 20 MiB, any content type. */
export const ATTACHMENT_LIMIT_BYTES = 20 * 1024 * 1024;
const JSON_LIMIT = '1mb';

/**
 * The sample legacy service: a plain express CRUD API over `orders` and `order_items`.
 * Every command on an existing order runs in one transaction that first locks the order
 * row (SELECT … FOR UPDATE), so concurrent commands on one order serialise.
 */
export function createLegacyOrdersApp(opts: LegacyOrdersOptions): express.Express {
  const { db } = opts;
  const clock = opts.clock ?? systemClock;
  const exportPageSize = opts.exportPageSize ?? 50;
  const exportDelayMs = opts.exportDelayMs ?? 10;
  const onError = opts.onError ?? ((err: unknown) => console.error('[legacy-orders] unexpected error', err));
  const json = express.json({ limit: JSON_LIMIT });
  const now = () => toDbTimestamp(clock());

  /** Locks the order, lets fn change it, and answers the order as committed. */
  const command = (id: string, fn: (tx: Executor, row: OrderRow) => Promise<void>): Promise<OrderJson> =>
    db.transaction(async (tx) => {
      const row = await lockOrderRow(tx, id);
      if (!row) throw orderNotFound(id);
      await fn(tx, row);
      const order = await findOrder(tx, id);
      if (!order) throw orderNotFound(id);
      return order;
    });

  const app = express();

  app.get('/health', async (_req, res) => {
    await db.query('SELECT 1');
    res.type('text/plain').send('ok');
  });

  // Registered before /orders/:id, which would otherwise take "export" for an id.
  app.get('/orders/export', async (_req, res) => {
    res.status(200);
    res.setHeader('Content-Type', 'application/x-ndjson; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    // No Content-Length: node frames the body with Transfer-Encoding: chunked, one chunk per write.
    res.flushHeaders();
    let clientGone = false;
    res.on('close', () => {
      clientGone = true;
    });
    let afterId = '';
    for (;;) {
      const page = await pageOrders(db, afterId, exportPageSize);
      for (const order of page) {
        if (clientGone) return;
        res.write(`${JSON.stringify(order)}\n`);
      }
      const last = page.at(-1);
      if (!last || page.length < exportPageSize) break;
      afterId = last.id;
      await delay(exportDelayMs);
    }
    res.end();
  });

  app.get('/orders', async (req, res) => {
    const raw = req.query.customerId;
    const customerId = raw === undefined ? undefined : parseIdentifier(raw, 'customerId');
    const page = parsePage(req.query.limit, req.query.offset);
    const rows = await listOrderRows(db, customerId, page);
    res.json(rows.map(toSummaryJson));
  });

  app.post('/orders', json, async (req, res) => {
    const input = parseCreateOrder(req.body);
    const id = newOrderId();
    const total = totalCents(input.items);
    const order = await db.transaction(async (tx) => {
      await insertOrder(tx, { id, customerId: input.customerId, status: 'CREATED', totalCents: total, now: now() });
      for (const item of input.items) await insertItem(tx, id, item);
      return findOrder(tx, id);
    });
    res.status(201).location(`/orders/${id}`).json(order);
  });

  app.get('/orders/:id', async (req, res) => {
    const order = await findOrder(db, req.params.id);
    if (!order) throw orderNotFound(req.params.id);
    res.json(order);
  });

  app.patch('/orders/:id', json, async (req, res) => {
    const patch = parsePatchOrder(req.body);
    const id = req.params.id;
    const order = await command(id, async (tx, row) => {
      const status = patch.status ?? row.status;
      if (status !== row.status && !canTransition(row.status, status)) {
        throw new HttpError(409, 'invalid_transition', `Order ${id} is ${row.status}; it cannot become ${status}.`);
      }
      await updateOrder(tx, id, {
        customerId: patch.customerId ?? row.customer_id,
        status,
        totalCents: centsFromDb(row.total_amount),
        now: now(),
      });
    });
    res.json(order);
  });

  app.post('/orders/:id/items', json, async (req, res) => {
    const item = parseItem(bodyObject(req), 'item');
    const id = req.params.id;
    const order = await command(id, async (tx, row) => {
      if (row.status !== 'CREATED') {
        throw new HttpError(409, 'order_not_open', `Order ${id} is ${row.status}; items can only be added while it is CREATED.`);
      }
      const existing = await findItemRows(tx, id);
      if (existing.some((e) => e.sku === item.sku)) {
        throw new HttpError(409, 'item_exists', `Order ${id} already has an item with sku "${item.sku}".`);
      }
      // The total is recomputed from every line, in integer cents, never adjusted by a float delta.
      const total = totalCents([...existing.map((e) => ({ quantity: Number(e.quantity), priceCents: centsFromDb(e.price) })), item]);
      await insertItem(tx, id, item);
      await updateOrder(tx, id, { customerId: row.customer_id, status: row.status, totalCents: total, now: now() });
    });
    res.status(201).json(order);
  });

  app.post('/orders/:id/pay', async (req, res) => {
    const id = req.params.id;
    const order = await command(id, async (tx, row) => {
      if (row.status !== 'CREATED') {
        throw new HttpError(409, 'invalid_transition', `Order ${id} is ${row.status}; only CREATED orders can be paid.`);
      }
      await updateOrder(tx, id, { customerId: row.customer_id, status: 'PAID', totalCents: centsFromDb(row.total_amount), now: now() });
    });
    res.json(order);
  });

  app.post('/orders/:id/cancel', async (req, res) => {
    const id = req.params.id;
    const order = await command(id, async (tx, row) => {
      if (!canTransition(row.status, 'CANCELLED')) {
        throw new HttpError(409, 'invalid_transition', `Order ${id} is ${row.status}; only CREATED or PAID orders can be cancelled.`);
      }
      await updateOrder(tx, id, {
        customerId: row.customer_id,
        status: 'CANCELLED',
        totalCents: centsFromDb(row.total_amount),
        now: now(),
      });
    });
    res.json(order);
  });

  app.delete('/orders/:id', async (req, res) => {
    const id = req.params.id;
    await db.transaction(async (tx) => {
      if (!(await lockOrderRow(tx, id))) throw orderNotFound(id);
      await deleteOrder(tx, id);
    });
    res.status(204).end();
  });

  // A transparency probe for the sidecar: hashes whatever bytes arrive. Nothing is stored
  // and the order is not looked up, so any id works.
  app.put('/orders/:id/attachment', express.raw({ type: () => true, limit: ATTACHMENT_LIMIT_BYTES }), (req, res) => {
    const body: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    res.json({ bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') });
  });

  app.use(notFoundHandler);
  app.use(errorHandler(onError));
  return app;
}

function bodyObject(req: Request): unknown {
  if (req.body === undefined) throw validationFailed('Request body must be a JSON object (Content-Type: application/json).');
  return req.body;
}
