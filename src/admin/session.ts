import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { ResolvedAdminToken } from '../config/schema.ts';
import { StranglerError } from '../errors/StranglerError.ts';
import { json } from './adminServer.ts';
import type { AdminRole } from './auth.ts';
import { problem } from './routeKit.ts';

/**
 * Browser sessions of the admin port (the dashboard): a token pasted once is exchanged for a
 * signed cookie, so the page never holds the token. The cookie carries only who and until
 * when: `base64url(JSON {name, role, exp}) "." base64url(HMAC-SHA256(key, payload))`. The key
 * is random per process: a restart logs every browser out, and no secret has to be configured
 * or rotated. Changes made with a cookie need `X-CSRF-Token` (an HMAC of the cookie under a
 * separate label), which a page on another origin cannot read.
 */

export const SESSION_COOKIE = 'strangler_session';
export const CSRF_HEADER = 'x-csrf-token';
export const SESSION_TTL_MS = 8 * 60 * 60 * 1000;

export interface SessionPayload {
  /** The admin token's name (the actor in audit entries), never its value. */
  name: string;
  role: AdminRole;
  /** Expiry, ms since the epoch. */
  exp: number;
}

const b64 = (buf: Buffer) => buf.toString('base64url');
const mac = (key: Buffer, label: string, data: string) => createHmac('sha256', key).update(label).update('\0').update(data).digest();

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The cookie value for `payload`, signed with `key`. */
export function signSession(key: Buffer, payload: SessionPayload): string {
  const body = b64(Buffer.from(JSON.stringify({ name: payload.name, role: payload.role, exp: payload.exp })));
  return `${body}.${b64(mac(key, 'session', body))}`;
}

/** The payload of a cookie value signed with `key` and not expired at `now`; null otherwise (tampered, expired, malformed). */
export function verifySession(key: Buffer, value: string, now: number): SessionPayload | null {
  const dot = value.indexOf('.');
  if (dot <= 0 || dot !== value.lastIndexOf('.')) return null;
  const body = value.slice(0, dot);
  const signature = Buffer.from(value.slice(dot + 1), 'base64url');
  if (!sameBytes(signature, mac(key, 'session', body))) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  const p = parsed as Partial<SessionPayload> | null;
  if (!p || typeof p.name !== 'string' || (p.role !== 'viewer' && p.role !== 'operator') || typeof p.exp !== 'number') return null;
  if (!(now < p.exp)) return null;
  return { name: p.name, role: p.role, exp: p.exp };
}

/** The CSRF token that goes with a cookie value: derived from it, so it needs no server-side state. */
export function csrfToken(key: Buffer, cookieValue: string): string {
  return b64(mac(key, 'csrf', cookieValue));
}

export function checkCsrf(key: Buffer, cookieValue: string, header: string | undefined): boolean {
  if (!header) return false;
  return sameBytes(Buffer.from(header), Buffer.from(csrfToken(key, cookieValue)));
}

/** The value of one cookie in a Cookie header (the last one wins when sent twice). */
export function readCookie(header: string | undefined, name: string): string | undefined {
  let found: string | undefined;
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) found = part.slice(eq + 1).trim();
  }
  return found;
}

/** Sessions verified by the session middleware, per request; auth.ts reads them when no bearer header is sent. */
const verified = new WeakMap<http.IncomingMessage, { name: string; role: AdminRole }>();

export function sessionOf(req: http.IncomingMessage): { name: string; role: AdminRole } | undefined {
  return verified.get(req);
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface SessionsOptions {
  tokens: readonly ResolvedAdminToken[];
  /** The signing key (default: 32 random bytes, new each process). */
  key?: Buffer;
  ttlMs?: number;
  now?: () => number;
}

export interface Sessions {
  /** First on the admin app: turns a valid cookie into the request's session and refuses cookie-authenticated changes without the CSRF token. */
  middleware: RequestHandler;
  /** `POST /session` (login), `POST /session/logout`, `GET /session`. */
  router: express.Router;
}

export function createSessions(opts: SessionsOptions): Sessions {
  const key = opts.key ?? randomBytes(32);
  const ttlMs = opts.ttlMs ?? SESSION_TTL_MS;
  const now = opts.now ?? Date.now;
  // Cookies logged out before their expiry (value → exp): a copy of one kept elsewhere must
  // not outlive the logout. Dropped once expired, so this holds at most 8 h of logouts.
  const revoked = new Map<string, number>();

  /** The cookie's session when it verifies and its token is still configured; the role is the token's. */
  const current = (req: http.IncomingMessage): { value: string; session: SessionPayload } | null => {
    const value = readCookie(req.headers.cookie, SESSION_COOKIE);
    if (!value || revoked.has(value)) return null;
    const session = verifySession(key, value, now());
    if (!session) return null;
    const token = opts.tokens.find((t) => t.name === session.name);
    if (!token) return null;
    return { value, session: { ...session, role: token.role } };
  };

  const middleware: RequestHandler = (req: Request, res: Response, next: NextFunction) => {
    // A bearer header decides on its own (scripts, the CLI): a cookie beside it is not looked at.
    if (req.headers.authorization !== undefined) return next();
    const found = current(req);
    if (!found) return next();
    if (!SAFE_METHODS.has(req.method) && req.path !== '/session' && !checkCsrf(key, found.value, req.get(CSRF_HEADER))) {
      return json(
        res,
        403,
        problem(
          403,
          'csrf_failed',
          'A change made with the session cookie needs the X-CSRF-Token header (GET /session gives it). Scripts send "Authorization: Bearer TOKEN" instead.',
        ),
      );
    }
    verified.set(req, { name: found.session.name, role: found.session.role });
    next();
  };

  const cookie = (req: Request, value: string, maxAgeS: number) =>
    [
      `${SESSION_COOKIE}=${value}`,
      'HttpOnly',
      'SameSite=Strict',
      'Path=/',
      `Max-Age=${maxAgeS}`,
      // Secure only behind TLS: the admin port itself speaks plain HTTP, where a Secure cookie is never sent back.
      ...(req.secure || req.get('x-forwarded-proto') === 'https' ? ['Secure'] : []),
    ].join('; ');

  const describe = (value: string, s: SessionPayload) => ({
    name: s.name,
    role: s.role,
    csrf: csrfToken(key, value),
    expiresAt: new Date(s.exp).toISOString(),
  });

  const router = express.Router({ strict: true, caseSensitive: true });
  const noStore = (_req: Request, res: Response, next: NextFunction) => {
    res.set('cache-control', 'no-store');
    next();
  };
  router.use('/session', noStore);
  router.post('/session', express.json({ limit: '4kb', strict: true }), (req, res) => {
    // JSON only: a cross-site form cannot send it without a CORS preflight, so nobody can log a browser in to their session.
    if (!req.is('application/json'))
      throw new StranglerError('bad_request', 'POST /session takes a JSON body. Example: {"token": "…"}', { status: 415 });
    const body = req.body as unknown;
    const given = body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>)['token'] : undefined;
    if (typeof given !== 'string' || given === '')
      throw new StranglerError('bad_request', 'The body needs the admin token. Example: {"token": "…"}', { status: 400 });
    if (!opts.tokens.length)
      throw new StranglerError(
        'unauthorized',
        'No admin token is configured, so nobody can log in. Set STRANGLER_ADMIN_TOKEN (or the env variables named in admin.tokens) and restart.',
        { status: 401 },
      );
    const token = opts.tokens.find((t) => t.secret.matches(given));
    if (!token) throw new StranglerError('unauthorized', 'The token does not match any admin token.', { status: 401 });
    const session: SessionPayload = { name: token.name, role: token.role, exp: now() + ttlMs };
    const value = signSession(key, session);
    res.set('set-cookie', cookie(req, value, Math.floor(ttlMs / 1000)));
    json(res, 200, describe(value, session));
  });
  router.post('/session/logout', (req, res) => {
    const found = current(req);
    const at = now();
    for (const [value, exp] of revoked) if (exp <= at) revoked.delete(value);
    if (found) revoked.set(found.value, found.session.exp);
    res.set('set-cookie', cookie(req, '', 0));
    res.status(204).end();
  });
  router.get('/session', (req, res) => {
    const found = current(req);
    if (!found)
      throw new StranglerError('unauthorized', 'No session: log in with an admin token (POST /session {"token": "…"}).', { status: 401 });
    json(res, 200, describe(found.value, found.session));
  });
  router.all(['/session', '/session/logout'], (req, _res) => {
    throw new StranglerError('method_not_allowed', `${req.path} does not answer ${req.method}.`, { status: 405 });
  });
  return { middleware, router };
}
