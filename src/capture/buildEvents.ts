import type { IncomingHttpHeaders } from 'node:http';
import { withSoftDelete } from '../config/deleteRoutes.ts';
import type { CommandSpec, EntityConfig } from '../config/schema.ts';
import type { NewEvent } from '../eventstore/types.ts';
import { actorOf } from './actor.ts';
import { captureEventId } from './eventId.ts';
import { dataFieldName, readJsonPath } from './jsonPath.ts';
import type { LookupReader, RowReader } from './legacyRow.ts';
import { findByLookup, lookupSource, lookupValue, type LookupFailure } from './lookup.ts';
import { pick, redact } from './redact.ts';

/** Metadata schema version of captured events; upcasters key on it. */
export const CAPTURE_SCHEMA_VERSION = 1;

export interface CaptureInput {
  entity: string;
  entityConfig: EntityConfig;
  command: CommandSpec;
  params: Record<string, string>;
  method: string;
  path: string;
  requestId: string;
  requestHeaders: IncomingHttpHeaders;
  requestBody: Buffer;
  responseStatus: number;
  responseBody: Buffer;
  actorHeader: string;
  /** A claim of the bearer JWT naming the actor (server.actor.jwtClaim); wins over actorHeader. */
  actorJwtClaim?: string;
  readRow?: RowReader;
  /** Reads rows by a lookup column (commands with `lookup`). */
  lookupRow?: LookupReader;
  /** The row key a `lookup` found before forwarding (param and request sources); else looked up now. */
  identity?: string;
}

export type CaptureResult =
  | { ok: true; streamId: string; events: (NewEvent & { id: string })[] }
  | { ok: false; reason: 'not_json' | 'empty_data' | 'not_object' | LookupFailure['reason']; detail: string };

function parseJson(buf: Buffer): { ok: true; value: unknown } | { ok: false } {
  if (buf.length === 0) return { ok: true, value: {} };
  try {
    return { ok: true, value: JSON.parse(buf.toString('utf8')) };
  } catch {
    return { ok: false };
  }
}

const isEmpty = (data: unknown) =>
  data === undefined || data === null || typeof data !== 'object' || Array.isArray(data) || Object.keys(data).length === 0;

function emptyDetail(command: CommandSpec): string {
  const where = command.root !== undefined ? ` at ${command.root}` : '';
  const fields = command.data !== undefined ? ` with the fields [${command.data.join(', ')}]` : '';
  return `no object${where}${fields} in the ${command.capture} body; fix root/data of the command`;
}

const header = (h: IncomingHttpHeaders, name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

/**
 * The event data with `responseData`'s fields of legacy's answer, each under its last key,
 * redacted. Such a field always comes from the answer: a captured field of the same name is
 * replaced, or dropped when the answer has none (a client cannot stand in for legacy's value).
 */
function withResponseData(data: Record<string, unknown>, response: unknown, paths: readonly string[], redacted: ReadonlySet<string>) {
  const out = { ...data };
  for (const path of paths) {
    const field = dataFieldName(path);
    delete out[field];
    const value = readJsonPath(response, path);
    if (value !== undefined && !redacted.has(field)) out[field] = redact(value, redacted);
  }
  return out;
}

/**
 * Builds the domain event(s) for a command legacy answered with 2xx, from the spec:
 * type, stream id (template + id from a route param, a JSON path of the answer, or the key of
 * the legacy row a `lookup` finds), data
 * (request body, response body or the legacy row read back), redaction, metadata.
 */
export async function buildEvents(input: CaptureInput): Promise<CaptureResult> {
  const { command, entityConfig } = input;
  const lookup = command.lookup;
  let response: unknown;
  if (command.id !== undefined || command.capture === 'response' || (lookup?.response !== undefined && input.identity === undefined)) {
    const parsed = parseJson(input.responseBody);
    if (!parsed.ok) return { ok: false, reason: 'not_json', detail: 'the legacy answer is not JSON' };
    response = parsed.value;
  } else if (command.responseData !== undefined) {
    // Only fields are taken from it: an answer that is not JSON has none (they are left out).
    const parsed = parseJson(input.responseBody);
    if (parsed.ok) response = parsed.value;
  }
  let request: unknown;
  if (command.capture === 'request' || (lookup?.request !== undefined && input.identity === undefined)) {
    const parsed = parseJson(input.requestBody);
    if (!parsed.ok) return { ok: false, reason: 'not_json', detail: 'the request body is not JSON' };
    request = parsed.value;
  }

  let id: string;
  // A row read after legacy answered (a lookup resolved now): it is the after-image.
  let rowAfter: Record<string, unknown> | undefined;
  if (lookup !== undefined) {
    if (input.identity !== undefined) id = input.identity;
    else {
      const value = lookupValue(lookup, { params: input.params, request, response });
      if (value === undefined) return { ok: false, reason: 'no_id', detail: `lookup: no value at ${lookupSource(lookup)}` };
      const found = await findByLookup(input.lookupRow, entityConfig, lookup.column, value);
      if (!found.ok) return found;
      id = found.id;
      rowAfter = found.row;
    }
  } else {
    const rawId = command.id !== undefined ? readJsonPath(response, command.id) : input.params.id;
    if ((typeof rawId !== 'string' || rawId === '') && typeof rawId !== 'number') {
      return { ok: false, reason: 'no_id', detail: command.id ? `no id at ${command.id} in the legacy answer` : 'the route has no :id' };
    }
    id = String(rawId);
  }
  const streamId = entityConfig.stream.replace('{id}', id);

  let data: unknown;
  if (command.capture === 'request') {
    data = request;
  } else if (command.capture === 'response') {
    data = response;
  } else if (rowAfter !== undefined) {
    data = rowAfter;
  } else {
    if (!input.readRow) return { ok: false, reason: 'no_row_reader', detail: 'capture: row needs legacy.database.url' };
    let row: Record<string, unknown> | null;
    try {
      row = await input.readRow(entityConfig.legacy.table, entityConfig.legacy.key, id);
    } catch (err) {
      // The command is applied; only its event cannot be built. A capture error, never an append failure.
      return { ok: false, reason: 'row_read_failed', detail: `capture: row: ${(err as Error).message}` };
    }
    if (!row)
      return { ok: false, reason: 'row_not_found', detail: `no ${entityConfig.legacy.table} row with ${entityConfig.legacy.key} = ${id}` };
    data = row;
  }
  if (command.root !== undefined) data = readJsonPath(data, command.root);
  const redacted = new Set(entityConfig.redact);
  data = redact(pick(data, command.data), redacted);
  // Asked for an envelope's content or for fields, and got nothing: the spec no longer matches
  // the body (a renamed envelope, a missing field). An empty event would hide that; a command
  // with neither (e.g. POST /orders/:id/pay with no body) keeps its empty data.
  if ((command.root !== undefined || command.data !== undefined) && isEmpty(data)) {
    return { ok: false, reason: 'empty_data', detail: emptyDetail(command) };
  }
  if (command.responseData !== undefined) {
    if (data === null || typeof data !== 'object' || Array.isArray(data)) {
      return {
        ok: false,
        reason: 'not_object',
        // The kind of value only: the body itself may hold what redact would have removed.
        detail: `responseData adds fields to the event data, but the ${command.capture} body gives ${Array.isArray(data) ? 'an array' : data === null ? 'null' : `a ${typeof data}`}, not a JSON object`,
      };
    }
    data = withResponseData(data as Record<string, unknown>, response, command.responseData, redacted);
  }
  data = withSoftDelete(entityConfig, command, data);

  const h = input.requestHeaders;
  const idempotencyKey = header(h, 'idempotency-key');
  const eventId = captureEventId(idempotencyKey, { entity: input.entity, route: command.route, streamId, index: 0 });
  const metadata: Record<string, unknown> = {
    schemaVersion: CAPTURE_SCHEMA_VERSION,
    eventId,
    requestId: input.requestId,
    correlationId: header(h, 'x-correlation-id') ?? input.requestId,
    route: command.route,
    method: input.method,
    path: input.path,
    params: input.params,
    status: input.responseStatus,
    capture: command.capture,
  };
  const actor = actorOf(h, { header: input.actorHeader, ...(input.actorJwtClaim !== undefined ? { jwtClaim: input.actorJwtClaim } : {}) });
  if (actor) metadata.actor = actor;
  const traceparent = header(h, 'traceparent');
  if (traceparent) metadata.traceparent = traceparent;
  if (idempotencyKey) metadata.idempotencyKey = idempotencyKey;
  return { ok: true, streamId, events: [{ id: eventId, type: command.event, data, metadata }] };
}
