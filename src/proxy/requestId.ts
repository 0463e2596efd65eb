import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const REQUEST_ID_HEADER = 'x-request-id';

/** The request's id: the client's X-Request-Id when it sent one, else a new one set on the request. */
export function ensureRequestId(req: IncomingMessage): string {
  const given = req.headers[REQUEST_ID_HEADER];
  if (typeof given === 'string' && given !== '') return given;
  const id = randomUUID();
  req.headers[REQUEST_ID_HEADER] = id;
  // rawHeaders is what gets forwarded by hand-built requests; keep both views in step.
  req.rawHeaders.push('X-Request-Id', id);
  return id;
}
