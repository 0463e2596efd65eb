import { createHmac, randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const scrypt = promisify(scryptCb) as (password: string, salt: Buffer, keylen: number) => Promise<Buffer>;

/**
 * HS256 JSON Web Tokens, written by hand with node:crypto as small services often do. The
 * payload names the user by `username` (the only user key the API knows); `exp` is checked.
 */
export interface TokenClaims {
  username: string;
  iat: number;
  exp: number;
}

const b64url = (buf: Buffer | string) => Buffer.from(buf).toString('base64url');
const HEADER = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));

export function signToken(secret: string, username: string, nowSeconds: number, ttlSeconds: number): string {
  const payload = b64url(JSON.stringify({ username, iat: nowSeconds, exp: nowSeconds + ttlSeconds }));
  const signature = b64url(createHmac('sha256', secret).update(`${HEADER}.${payload}`).digest());
  return `${HEADER}.${payload}.${signature}`;
}

/** The claims of a valid, unexpired token; null for anything else. */
export function verifyToken(secret: string, token: string, nowSeconds: number): TokenClaims | null {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  const [header, payload, signature] = parts as [string, string, string];
  const expected = createHmac('sha256', secret).update(`${header}.${payload}`).digest();
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  try {
    const head = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { alg?: unknown };
    if (head.alg !== 'HS256') return null;
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Partial<TokenClaims>;
    if (typeof claims.username !== 'string' || typeof claims.exp !== 'number' || claims.exp <= nowSeconds) return null;
    return claims as TokenClaims;
  } catch {
    return null;
  }
}

/** `Authorization: Token xxx` (the RealWorld spelling) or `Bearer xxx`. */
export function tokenFromHeader(header: string | undefined): string | null {
  const match = /^(?:Token|Bearer)\s+(\S+)$/i.exec(header?.trim() ?? '');
  return match ? match[1]! : null;
}

/** `scrypt$<salt>$<hash>`, both base64url. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  return `scrypt$${b64url(salt)}$${b64url(await scrypt(password, salt, 32))}`;
}

export async function checkPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await scrypt(password, Buffer.from(salt, 'base64url'), expected.length);
  return timingSafeEqual(actual, expected);
}
