import { redactUrl } from '../config/redactUrl.ts';
import { StranglerError } from '../errors/StranglerError.ts';

/** Why a connection could not be made, in words, by the error's code (Node's or PostgreSQL's SQLSTATE). */
const REASONS: Record<string, (host: string, hostname: string) => string> = {
  ECONNREFUSED: (host) => `nothing accepts connections on ${host}`,
  ENOTFOUND: (_host, hostname) => `host ${hostname} is not found`,
  EAI_AGAIN: (_host, hostname) => `host ${hostname} cannot be resolved right now`,
  ETIMEDOUT: (host) => `${host} does not answer`,
  EHOSTUNREACH: (host) => `${host} is unreachable`,
  ENETUNREACH: (host) => `the network of ${host} is unreachable`,
  '28P01': () => 'the password is refused',
  '28000': () => 'the user is not allowed to connect',
  '3D000': () => 'the database does not exist',
};

/**
 * A database that cannot be reached at all, as one line: what, where, what to do. Null for
 * any other error (those keep their own message). pg reports a connect timeout as a plain
 * "Connection terminated due to connection timeout" without a code.
 */
export function connectionFailure(err: unknown, what: string, url: string, fix: string): StranglerError | null {
  const e = err as { code?: unknown; message?: unknown } | null;
  const message = typeof e?.message === 'string' ? e.message : '';
  const code = typeof e?.code === 'string' ? e.code : /connection timeout/i.test(message) ? 'ETIMEDOUT' : '';
  const reason = REASONS[code];
  if (!reason) return null;
  let host = url;
  let hostname = url;
  try {
    const u = new URL(url);
    hostname = u.hostname;
    host = u.port ? `${u.hostname}:${u.port}` : u.hostname;
  } catch {
    // not a URL: name it as given
  }
  return new StranglerError(
    'database_unreachable',
    `Cannot connect to the ${what} at ${redactUrl(url)}: ${reason(host, hostname)} (${code}). ${fix}`,
    {
      status: 503,
      cause: err,
    },
  );
}
