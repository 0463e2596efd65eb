import type { CommandSpec, EntityConfig } from '../config/schema.ts';
import { readJsonPath } from './jsonPath.ts';
import type { LookupReader } from './legacyRow.ts';

/**
 * `lookup: { column, param | request | response }`: the stream id is the legacy row's
 * `legacy.key` (e.g. a UUID the API never shows), the row found by another unique column
 * (`WHERE slug = $1`). A route parameter or a request path is known before forwarding, so
 * the command handler looks the row up then (a hard DELETE or a rename by route parameter
 * still finds it, and the command takes its row's turn in the key lock); a response path is
 * looked up after the 2xx answer (a rename: the answer carries the new value).
 */
export type Lookup = NonNullable<CommandSpec['lookup']>;

export type LookupFailure = {
  ok: false;
  reason: 'no_id' | 'row_not_found' | 'lookup_not_unique' | 'row_read_failed' | 'no_row_reader';
  detail: string;
};
export type LookupResult = { ok: true; id: string; row: Record<string, unknown> } | LookupFailure;

/** Where the value comes from, in words: `route parameter :slug`, `$.user.username in the legacy answer`. */
export function lookupSource(lookup: Lookup): string {
  if (lookup.param !== undefined) return `route parameter :${lookup.param}`;
  if (lookup.request !== undefined) return `${lookup.request} in the request body`;
  return `${lookup.response} in the legacy answer`;
}

/** A string or a number; anything else (absent, null, an object) is no value. */
function keyValue(v: unknown): string | number | undefined {
  if (typeof v === 'string' && v !== '') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  return undefined;
}

export function lookupValue(lookup: Lookup, from: { params: Record<string, string>; request?: unknown; response?: unknown }) {
  if (lookup.param !== undefined) return keyValue(from.params[lookup.param]);
  if (lookup.request !== undefined) return keyValue(readJsonPath(from.request, lookup.request));
  return keyValue(readJsonPath(from.response, lookup.response!));
}

/**
 * The value known before forwarding: the lookup's own for param and request sources; for a
 * response lookup, a route parameter named like the column (`:slug` for column slug), which
 * only orders the command behind others on the same row (the stream id still comes from
 * the answer).
 */
export function lookupValueBefore(command: CommandSpec, params: Record<string, string>, requestBody: Buffer): string | number | undefined {
  const lookup = command.lookup;
  if (lookup === undefined) return undefined;
  if (lookup.param !== undefined) return keyValue(params[lookup.param]);
  if (lookup.request !== undefined) {
    try {
      return keyValue(readJsonPath(JSON.parse(requestBody.toString('utf8')), lookup.request));
    } catch {
      return undefined;
    }
  }
  return keyValue(params[lookup.column]);
}

/** The row with `column = value` and its key; not found, not unique and read errors as capture failures. */
export async function findByLookup(
  read: LookupReader | undefined,
  entity: EntityConfig,
  column: string,
  value: string | number,
): Promise<LookupResult> {
  const { table, key } = entity.legacy;
  if (!read) return { ok: false, reason: 'no_row_reader', detail: 'lookup needs legacy.database.url' };
  let rows: Record<string, unknown>[];
  try {
    rows = await read(table, column, value);
  } catch (err) {
    return { ok: false, reason: 'row_read_failed', detail: `lookup: ${(err as Error).message}` };
  }
  const where = `${table} row with ${column} = ${JSON.stringify(value)}`;
  if (rows.length === 0) return { ok: false, reason: 'row_not_found', detail: `no ${where}` };
  if (rows.length > 1) {
    return { ok: false, reason: 'lookup_not_unique', detail: `more than one ${where}; lookup.column must be unique in ${table}` };
  }
  const row = rows[0]!;
  const id = keyValue(row[key] instanceof Buffer ? undefined : row[key]);
  if (id === undefined) return { ok: false, reason: 'no_id', detail: `the ${where} has no usable ${key} (legacy.key)` };
  return { ok: true, id: String(id), row };
}
