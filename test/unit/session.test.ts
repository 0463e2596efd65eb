import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkCsrf, csrfToken, readCookie, signSession, verifySession, type SessionPayload } from '../../src/admin/session.ts';

const key = randomBytes(32);
const NOW = Date.UTC(2026, 0, 2, 3, 4, 5);
const payload: SessionPayload = { name: 'ops', role: 'operator', exp: NOW + 60_000 };

/** The cookie value with its payload part replaced (the signature kept). */
function withPayload(value: string, p: unknown): string {
  return `${Buffer.from(JSON.stringify(p)).toString('base64url')}.${value.split('.')[1]}`;
}

describe('session cookies', () => {
  it('a signed value verifies to its payload until it expires', () => {
    const value = signSession(key, payload);
    expect(verifySession(key, value, NOW)).toEqual(payload);
    expect(verifySession(key, value, payload.exp - 1)).toEqual(payload);
    expect(verifySession(key, value, payload.exp)).toBeNull();
    expect(verifySession(key, value, payload.exp + 1)).toBeNull();
  });

  it('carries who and until when, never a token value', () => {
    const value = signSession(key, payload);
    const body = JSON.parse(Buffer.from(value.split('.')[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['exp', 'name', 'role']);
  });

  it('a changed payload (a viewer made operator, a later expiry) does not verify', () => {
    const viewer = signSession(key, { ...payload, role: 'viewer' });
    expect(verifySession(key, viewer, NOW)?.role).toBe('viewer');
    expect(verifySession(key, withPayload(viewer, { ...payload, role: 'operator' }), NOW)).toBeNull();
    const expired = signSession(key, { ...payload, exp: NOW - 1 });
    expect(verifySession(key, withPayload(expired, { ...payload, exp: NOW + 3_600_000 }), NOW)).toBeNull();
  });

  it('a changed or missing signature, or another key, does not verify', () => {
    const value = signSession(key, payload);
    const [body, sig] = value.split('.') as [string, string];
    const flipped = sig.slice(0, -2) + (sig.at(-2) === 'A' ? 'B' : 'A') + sig.at(-1);
    expect(verifySession(key, `${body}.${flipped}`, NOW)).toBeNull();
    expect(verifySession(key, `${body}.`, NOW)).toBeNull();
    expect(verifySession(key, body, NOW)).toBeNull();
    expect(verifySession(randomBytes(32), value, NOW)).toBeNull();
  });

  it('malformed values are refused, not thrown on', () => {
    for (const bad of ['', '.', 'a.b.c', '%%%.%%%', `${signSession(key, payload)}.x`]) expect(verifySession(key, bad, NOW)).toBeNull();
    // Signed with the right key but not a session payload: still refused.
    for (const p of [
      { name: 'ops', role: 'admin', exp: NOW + 1 },
      { role: 'viewer', exp: NOW + 1 },
      { name: 'ops', role: 'viewer' },
    ])
      expect(verifySession(key, signSession(key, p as unknown as SessionPayload), NOW)).toBeNull();
    expect(verifySession(key, signSession(key, { name: 'ops', role: 'viewer', exp: NOW + 1 }), NOW)).not.toBeNull();
  });

  it('the CSRF token belongs to one cookie value and one key', () => {
    const a = signSession(key, payload);
    const b = signSession(key, { ...payload, exp: payload.exp + 1 });
    expect(csrfToken(key, a)).toBe(csrfToken(key, a));
    expect(csrfToken(key, a)).not.toBe(csrfToken(key, b));
    expect(csrfToken(key, a)).not.toBe(csrfToken(randomBytes(32), a));
    // Not the cookie's own signature: knowing one gives nothing about the other.
    expect(csrfToken(key, a)).not.toBe(a.split('.')[1]);
    expect(checkCsrf(key, a, csrfToken(key, a))).toBe(true);
    expect(checkCsrf(key, a, csrfToken(key, b))).toBe(false);
    expect(checkCsrf(key, a, undefined)).toBe(false);
    expect(checkCsrf(key, a, '')).toBe(false);
  });

  it('reads one cookie out of a Cookie header', () => {
    expect(readCookie('a=1; strangler_session=xyz.abc; b=2', 'strangler_session')).toBe('xyz.abc');
    expect(readCookie('strangler_sessionx=1', 'strangler_session')).toBeUndefined();
    expect(readCookie(undefined, 'strangler_session')).toBeUndefined();
  });
});
