import type { ServerResponse } from 'node:http';
import { JSON_CONTENT_TYPE, type ReadAnswer } from '../reads/types.ts';

export const SOURCE_HEADER = 'X-Strangler-Source';

/** Set by the sidecar from the response itself: a handler's own values are ignored. */
const OWN = new Set(['content-type', 'content-length', 'x-request-id', 'x-strangler-source', 'transfer-encoding', 'connection']);

/**
 * Writes a read model's answer in one writeHead: status, content type (JSON by default),
 * Content-Length, the handler's extra headers, X-Request-Id (the id the request was given,
 * so the answer can be found in the sidecar's log) and the source header when configured.
 * 204 and 304 carry no body.
 */
export function writeReadAnswer(res: ServerResponse, answer: ReadAnswer, requestId: string | undefined, sourceHeader: boolean): void {
  const noBody = answer.status === 204 || answer.status === 304;
  const body = noBody ? null : Buffer.from(JSON.stringify(answer.body) ?? 'null');
  const headers: string[] = ['Content-Type', answer.contentType ?? JSON_CONTENT_TYPE];
  if (body) headers.push('Content-Length', String(body.length));
  if (answer.headers)
    for (const [name, value] of Object.entries(answer.headers)) if (!OWN.has(name.toLowerCase())) headers.push(name, value);
  if (requestId) headers.push('X-Request-Id', requestId);
  if (sourceHeader) headers.push(SOURCE_HEADER, 'read-model');
  res.writeHead(answer.status, headers);
  res.end(body ?? undefined);
}
