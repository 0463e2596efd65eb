import type http from 'node:http';
import type { Logger } from 'pino';
import type { ResolvedAdminToken } from '../config/schema.ts';
import { StranglerError } from '../errors/StranglerError.ts';
import { BodyTooLargeError, readBody } from '../proxy/readBody.ts';
import { json } from './adminServer.ts';
import { authorize, type AdminRole } from './auth.ts';

/** What the admin API's route handlers share: problem+json answers, the token check, JSON bodies. */

export const problem = (status: number, title: string, detail: string) => ({
  type: `https://strangler-sidecar.dev/problems/${title}`,
  title,
  status,
  detail,
});

export function sendProblem(
  res: http.ServerResponse,
  status: number,
  title: string,
  detail: string,
  headers: Record<string, string> = {},
): void {
  json(res, status, problem(status, title, detail), headers);
}

/** Checks the bearer token for `need`; answers 401/403 itself and returns null when it fails. */
export function requireRole(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  tokens: readonly ResolvedAdminToken[],
  need: AdminRole,
): { token: string; role: AdminRole } | null {
  const auth = authorize(req, tokens, need);
  if (auth.ok) return { token: auth.token, role: auth.role };
  sendProblem(
    res,
    auth.status,
    auth.status === 401 ? 'unauthorized' : 'forbidden',
    auth.detail,
    auth.status === 401 ? { 'www-authenticate': 'Bearer' } : {},
  );
  return null;
}

export class BadRequest extends StranglerError {
  constructor(message: string, status = 400) {
    super(status === 413 ? 'body_too_large' : 'bad_request', message, { status });
  }
}

/**
 * The 400 message for fields a body does not take, or null when it has none of them:
 * `Unknown field(s) x, y; the body takes only "entity". Example: …`.
 */
export function unknownFields(body: Record<string, unknown>, takes: readonly string[], example: string): string | null {
  const unknown = Object.keys(body).filter((k) => !takes.includes(k));
  if (unknown.length === 0) return null;
  const quoted = takes.map((t) => `"${t}"`);
  const list = quoted.length === 1 ? `only ${quoted[0]}` : `${quoted.slice(0, -1).join(', ')} and ${quoted[quoted.length - 1]}`;
  return `Unknown field(s) ${unknown.join(', ')}; the body takes ${list}. Example: ${example}`;
}

/** A JSON object body (empty = {}); anything else is a BadRequest naming what was wrong and an example. */
export async function readJsonObject(req: http.IncomingMessage, maxBytes: number, example: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = (await readBody(req, maxBytes)).toString('utf8');
  } catch (err) {
    if (err instanceof BodyTooLargeError) throw new BadRequest(`The body is over ${maxBytes} bytes.`, 413);
    throw err;
  }
  if (text.trim() === '') return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new BadRequest(`The body is not JSON: ${(err as Error).message}. Example: ${example}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new BadRequest(`The body must be a JSON object. Example: ${example}`);
  return body as Record<string, unknown>;
}

/**
 * Runs an async handler and turns what it throws into problem+json: our errors with their
 * own status and code (404 unknown projection, 409 wrong state, 400 bad input), anything
 * else as a logged 500.
 */
export function answer(res: http.ServerResponse, logger: Logger, what: string, handler: () => Promise<void>): void {
  handler().catch((err: unknown) => {
    if (res.headersSent) return;
    if (err instanceof StranglerError && err.status < 500) {
      const title = err.status === 404 ? 'not_found' : err.code === 'usage' ? 'bad_request' : err.code;
      return sendProblem(res, err.status, title, err.message);
    }
    logger.error({ err: (err as Error).message }, `${what} failed`);
    sendProblem(res, 500, 'internal_error', err instanceof Error ? err.message : String(err));
  });
}
