import type http from 'node:http';
import { BodyTooLargeError, readBody } from '../proxy/readBody.ts';
import { json } from './adminServer.ts';

/** An RFC 7807 problem body; `title` is the stable code. */
export const problem = (status: number, title: string, detail: string) => ({
  type: `https://strangler-sidecar.dev/problems/${title}`,
  title,
  status,
  detail,
});

const MAX_BODY = 64 * 1024;

/**
 * The request's JSON object body ({} when empty); on a bad body answers 400 (or 413
 * `body_too_large`) itself and resolves null. `example` goes into the message.
 */
export async function readJsonObject(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  example: string,
): Promise<Record<string, unknown> | null> {
  let body: unknown;
  try {
    const text = (await readBody(req, MAX_BODY)).toString('utf8');
    body = text.trim() === '' ? {} : JSON.parse(text);
  } catch (err) {
    if (err instanceof BodyTooLargeError)
      json(res, 413, problem(413, 'body_too_large', `The body is over ${MAX_BODY} bytes. Example: ${example}`));
    else json(res, 400, problem(400, 'bad_request', `The body is not JSON: ${(err as Error).message}. Example: ${example}`));
    return null;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    json(res, 400, problem(400, 'bad_request', `The body must be a JSON object. Example: ${example}`));
    return null;
  }
  return body as Record<string, unknown>;
}
