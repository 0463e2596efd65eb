import type http from 'node:http';
import type { ResolvedAdminToken } from '../config/schema.ts';
import { sessionOf } from './session.ts';

export type AdminRole = ResolvedAdminToken['role'];

export type AuthResult = { ok: true; token: string; role: AdminRole } | { ok: false; status: 401 | 403; detail: string };

/**
 * Bearer tokens of the admin port: `viewer` reads, `operator` also changes things. Tokens are
 * compared in constant time; their values are never logged (only the token's name is).
 * Without an Authorization header, a dashboard session (a signed cookie made from a token,
 * verified by session.ts's middleware, CSRF included) stands for the token it was made from.
 */
export function authorize(req: http.IncomingMessage, tokens: readonly ResolvedAdminToken[], need: AdminRole): AuthResult {
  if (!tokens.length) {
    return {
      ok: false,
      status: 401,
      detail:
        'No admin token is configured, so the operator API is closed. Set STRANGLER_ADMIN_TOKEN (or the env variables named in admin.tokens) and restart.',
    };
  }
  const session = req.headers.authorization === undefined ? sessionOf(req) : undefined;
  if (session) {
    if (need === 'operator' && session.role !== 'operator')
      return {
        ok: false,
        status: 403,
        detail: `Session of token "${session.name}" has role ${session.role}; this needs an operator token.`,
      };
    return { ok: true, token: session.name, role: session.role };
  }
  const header = req.headers.authorization ?? '';
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m)
    return { ok: false, status: 401, detail: 'Send the admin token as "Authorization: Bearer TOKEN" (or log in to the dashboard at /).' };
  const token = tokens.find((t) => t.secret.matches(m[1]!));
  if (!token) return { ok: false, status: 401, detail: 'The bearer token does not match any admin token.' };
  if (need === 'operator' && token.role !== 'operator')
    return { ok: false, status: 403, detail: `Token "${token.name}" has role ${token.role}; this needs an operator token.` };
  return { ok: true, token: token.name, role: token.role };
}
