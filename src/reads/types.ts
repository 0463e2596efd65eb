import type { IncomingHttpHeaders } from 'node:http';
import type { Executor } from '../db/executor.ts';

/**
 * A read handler answers one `reads` route of an entity from the read model, the way legacy
 * answers it: same status, same JSON (key order aside), same content type. Declarative ones
 * come from the YAML (`query:`); the others are modules written against the public API
 * (`defineReadHandler`, `strangler-sidecar/reads`). The canary's router (src/canary/) decides
 * per request whether a handler or legacy answers.
 */

/** The client's request as a handler sees it. GETs only: there is no body. */
export interface ReadRequest {
  method: string;
  /** Path and query string as the client sent them. */
  url: string;
  /** Route parameters, decoded (`:id` → `{ id: "ord_…" }`). */
  params: Readonly<Record<string, string>>;
  /** The query string, parsed. */
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
}

/** What the read model answers: written as `JSON.stringify(body)` unless `rawBody` is given. */
export interface ReadAnswer {
  status: number;
  /** A JSON value. */
  body: unknown;
  /** Default `application/json; charset=utf-8` (what Express's res.json sends). */
  contentType?: string;
  /** Extra response headers (e.g. `Location`, `Cache-Control`). */
  headers?: Readonly<Record<string, string>>;
  /**
   * The handler declines this request (e.g. a parameter legacy rejects with its own 400, which
   * the handler does not reproduce): legacy answers it, and status and body are ignored. Not a
   * failure and not a mismatch. Use PASS_TO_LEGACY.
   */
  pass?: boolean;
}

/** The answer of a handler that leaves this request to legacy. */
export const PASS_TO_LEGACY: ReadAnswer = Object.freeze({ status: 0, body: null, pass: true });

export interface ReadContext {
  /** The read model's database (the event store's executor). */
  db: Executor;
  /** Aborted when the answer is no longer wanted (timeout: legacy answers instead). */
  signal: AbortSignal;
}

export interface ReadHandler {
  /** The route it answers, as in the YAML: `GET /orders/:id`. */
  readonly route: string;
  handle(req: ReadRequest, ctx: ReadContext): Promise<ReadAnswer>;
}

/** Every loaded handler: entity → route text → handler. */
export type ReadHandlers = ReadonlyMap<string, ReadonlyMap<string, ReadHandler>>;

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';
