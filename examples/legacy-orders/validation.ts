import { validationFailed } from './errors.ts';
import { MAX_CENTS, parseCents } from './money.ts';

export const ORDER_STATUSES = ['CREATED', 'PAID', 'CANCELLED'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export interface ItemInput {
  sku: string;
  quantity: number;
  priceCents: bigint;
}

export interface CreateOrderInput {
  customerId: string;
  items: ItemInput[];
}

export interface PatchOrderInput {
  customerId?: string;
  status?: OrderStatus;
}

/**
 * Customer ids and SKUs are plain ASCII identifiers. Keeping them to this alphabet makes
 * equality and ordering identical on MariaDB (PAD SPACE collations ignore trailing blanks)
 * and PostgreSQL, which the reconciliation relies on.
 */
const IDENTIFIER = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
const MAX_QUANTITY = 1_000_000;
const MAX_ITEMS = 100;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function requireObject(body: unknown): Record<string, unknown> {
  if (!isObject(body)) throw validationFailed('Request body must be a JSON object (Content-Type: application/json).');
  return body;
}

export function parseIdentifier(value: unknown, field: string): string {
  if (typeof value !== 'string' || !IDENTIFIER.test(value)) {
    throw validationFailed(`${field} must be 1-64 characters of A-Z a-z 0-9 . _ : - starting with a letter or digit, e.g. "cust-42".`);
  }
  return value;
}

/** Pages of GET /orders: at most this many orders per page. */
export const MAX_PAGE = 1000;

export interface Page {
  /** Absent = every order from `offset` on. */
  limit?: number;
  offset: number;
}

function parseCount(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'string' || !/^\d{1,15}$/.test(value) || Number(value) < min || Number(value) > max) {
    throw validationFailed(`${field} must be an integer from ${min} to ${max}, e.g. ${field === 'limit' ? 20 : 40}.`);
  }
  return Number(value);
}

/** `?limit=&offset=` of GET /orders, both optional: no limit = all orders (what clients without them always got). */
export function parsePage(limit: unknown, offset: unknown): Page {
  const page: Page = { offset: offset === undefined ? 0 : parseCount(offset, 'offset', 0, Number.MAX_SAFE_INTEGER) };
  if (limit !== undefined) page.limit = parseCount(limit, 'limit', 1, MAX_PAGE);
  return page;
}

export function parseItem(value: unknown, field = 'item'): ItemInput {
  if (!isObject(value)) throw validationFailed(`${field} must be an object like {"sku":"SKU-1","quantity":1,"price":"9.99"}.`);
  const sku = parseIdentifier(value.sku, `${field}.sku`);
  const quantity = value.quantity;
  if (typeof quantity !== 'number' || !Number.isInteger(quantity) || quantity < 1 || quantity > MAX_QUANTITY) {
    throw validationFailed(`${field}.quantity must be an integer from 1 to ${MAX_QUANTITY}, e.g. 2.`);
  }
  const priceCents = parseCents(value.price);
  if (priceCents === undefined || priceCents > MAX_CENTS) {
    throw validationFailed(`${field}.price must be a non-negative amount with at most 2 decimals, as a string or number, e.g. "9.99".`);
  }
  return { sku, quantity, priceCents };
}

export function parseCreateOrder(body: unknown): CreateOrderInput {
  const obj = requireObject(body);
  const customerId = parseIdentifier(obj.customerId, 'customerId');
  if (!Array.isArray(obj.items) || obj.items.length === 0 || obj.items.length > MAX_ITEMS) {
    throw validationFailed(`items must be an array of 1 to ${MAX_ITEMS} items, e.g. [{"sku":"SKU-1","quantity":1,"price":"9.99"}].`);
  }
  const items = obj.items.map((item, i) => parseItem(item, `items[${i}]`));
  const seen = new Set<string>();
  for (const item of items) {
    if (seen.has(item.sku)) throw validationFailed(`items contains sku "${item.sku}" twice; list each sku once with its total quantity.`);
    seen.add(item.sku);
  }
  return { customerId, items };
}

export function parsePatchOrder(body: unknown): PatchOrderInput {
  const obj = requireObject(body);
  const patch: PatchOrderInput = {};
  if (obj.customerId !== undefined) patch.customerId = parseIdentifier(obj.customerId, 'customerId');
  if (obj.status !== undefined) {
    if (typeof obj.status !== 'string' || !(ORDER_STATUSES as readonly string[]).includes(obj.status)) {
      throw validationFailed(`status must be one of ${ORDER_STATUSES.join(', ')}, e.g. "PAID".`);
    }
    patch.status = obj.status as OrderStatus;
  }
  if (patch.customerId === undefined && patch.status === undefined) {
    throw validationFailed('Nothing to update: send customerId and/or status, e.g. {"status":"PAID"}.');
  }
  return patch;
}

/** Sum of quantity × price, exact; rejects totals that DECIMAL(12,2) cannot hold. */
export function totalCents(items: readonly { quantity: number; priceCents: bigint }[]): bigint {
  const total = items.reduce((sum, item) => sum + BigInt(item.quantity) * item.priceCents, 0n);
  if (total > MAX_CENTS) throw validationFailed('The order total would exceed 9999999999.99.');
  return total;
}

const TRANSITIONS: Record<OrderStatus, readonly OrderStatus[]> = {
  CREATED: ['PAID', 'CANCELLED'],
  PAID: ['CANCELLED'],
  CANCELLED: [],
};

/** Whether an order may move from `from` to `to`. Staying in the same status is not a transition. */
export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return TRANSITIONS[from].includes(to);
}
