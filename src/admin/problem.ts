import type http from 'node:http';
import { json } from './adminServer.ts';
import { BadRequest, problem, readJsonObject as readJsonObjectOrThrow } from './routeKit.ts';

export { problem };

const MAX_BODY = 64 * 1024;

/**
 * The request's JSON object body ({} when empty); on a bad body answers 400 (or 413
 * `body_too_large`) itself and resolves null. `example` goes into the message. The
 * reconciliation routes answer inline; routeKit's `answer()` style throws instead.
 */
export async function readJsonObject(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  example: string,
): Promise<Record<string, unknown> | null> {
  try {
    return await readJsonObjectOrThrow(req, MAX_BODY, example);
  } catch (err) {
    if (!(err instanceof BadRequest)) throw err;
    const detail = err.status === 413 ? `${err.message} Example: ${example}` : err.message;
    json(res, err.status, problem(err.status, err.code, detail));
    return null;
  }
}
