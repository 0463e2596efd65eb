import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret } from '../../src/config/secret.ts';
import { openEventStore, type EventStore } from '../../src/eventstore/index.ts';
import type { Sidecar } from '../../src/sidecar.ts';
import { createPgTestDb, type TestDb } from '../harness/db.ts';
import { startEchoUpstream, type EchoUpstream } from '../helpers/echoUpstream.ts';
import { startTestSidecar } from '../helpers/sidecar.ts';

// The dashboard's login on a real sidecar's admin port (PostgreSQL event store): a token is
// exchanged for a signed HttpOnly cookie, the cookie stands for the token's role, changes
// made with it need the CSRF token, logout ends it, and bearer headers work as before.
const OPERATOR = 'dash-operator-token';
const VIEWER = 'dash-viewer-token';
let db: TestDb;
let store: EventStore;
let upstream: EchoUpstream;
let sidecar: Sidecar;

beforeAll(async () => {
  db = await createPgTestDb('dashsession');
  store = await openEventStore({ url: db.url, migrate: true, poolSize: 4 });
  upstream = await startEchoUpstream();
  sidecar = await startTestSidecar({
    upstream: upstream.url,
    store,
    configure: (config) => {
      config.admin.resolvedTokens = [
        { name: 'ops', role: 'operator', secret: new Secret(OPERATOR) },
        { name: 'watch', role: 'viewer', secret: new Secret(VIEWER) },
      ];
    },
  });
}, 60_000);

afterAll(async () => {
  await sidecar?.stop();
  await upstream?.close();
  await store?.close();
  await db?.drop();
});

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
  text: string;
}

async function request(method: string, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<Answer> {
  const res = await fetch(sidecar.adminUrl + path, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    redirect: 'manual',
  });
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    // an HTML page
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

/** Logs in with `token`; the cookie (name=value, as a browser would send it back) and the CSRF token. */
async function login(token: string): Promise<{ cookie: string; csrf: string; setCookie: string; body: Record<string, unknown> }> {
  const r = await request('POST', '/session', {}, { token });
  expect(r.status).toBe(200);
  const setCookie = r.headers.get('set-cookie') ?? '';
  return { cookie: setCookie.split(';')[0]!, csrf: String(r.body['csrf']), setCookie, body: r.body };
}

const canaryState = async () => (await request('GET', '/admin/canary/orders', { authorization: `Bearer ${VIEWER}` })).body;

describe('the dashboard page', () => {
  it('is served at / with its script and style, under a CSP without inline scripts', async () => {
    const page = await request('GET', '/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('content-security-policy')).not.toContain('unsafe-inline');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    // Every script is a file of its own: none inline.
    const scripts = [...page.text.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attrs, inner] of scripts) {
      expect(attrs).toMatch(/src="\/dashboard\/app\.js"/);
      expect(inner!.trim()).toBe('');
    }
    const js = await request('GET', '/dashboard/app.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(js.text).toContain('/admin/status');
    const css = await request('GET', '/dashboard/app.css');
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
  });

  it('the 404 answer lists the dashboard and /session among the endpoints', async () => {
    const r = await request('GET', '/nothing-here');
    expect(r.status).toBe(404);
    expect(String(r.body['detail'])).toMatch(/\/admin\/guard, \/, \/session\.$/);
  });
});

describe('logging in', () => {
  it('a wrong or missing token, or a body that is not JSON, sets no cookie', async () => {
    for (const [body, status] of [
      [{ token: 'not-a-token' }, 401],
      [{}, 400],
      [{ token: '' }, 400],
    ] as const) {
      const r = await request('POST', '/session', {}, body);
      expect(r.status, JSON.stringify(body)).toBe(status);
      expect(r.headers.get('set-cookie')).toBeNull();
    }
    // A cross-site HTML form can only send form encodings: refused, so no page can log a browser in.
    const form = await request('POST', '/session', { 'content-type': 'application/x-www-form-urlencoded' }, `token=${OPERATOR}`);
    expect(form.status).toBe(415);
    expect(form.headers.get('set-cookie')).toBeNull();
  });

  it('sets an HttpOnly, SameSite=Strict cookie for 8 hours that names the token, never holds it', async () => {
    const { setCookie, body, cookie } = await login(OPERATOR);
    const attrs = setCookie.split(';').map((a) => a.trim());
    expect(attrs[0]).toMatch(/^strangler_session=[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(attrs).toEqual(expect.arrayContaining(['HttpOnly', 'SameSite=Strict', 'Path=/', `Max-Age=${8 * 3600}`]));
    expect(setCookie).not.toContain(OPERATOR);
    expect(Buffer.from(cookie.split('=')[1]!.split('.')[0]!, 'base64url').toString()).not.toContain(OPERATOR);
    expect(body).toMatchObject({ name: 'ops', role: 'operator' });
    expect(JSON.stringify(body)).not.toContain(OPERATOR);
    expect(typeof body['csrf']).toBe('string');
    const expires = Date.parse(String(body['expiresAt']));
    expect(expires - Date.now()).toBeGreaterThan(8 * 3600_000 - 60_000);
    expect(expires - Date.now()).toBeLessThanOrEqual(8 * 3600_000);
    // GET /session answers the same session and CSRF token (what a reloaded page asks).
    const again = await request('GET', '/session', { cookie });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ name: 'ops', role: 'operator', csrf: body['csrf'] });
    expect((await request('GET', '/session')).status).toBe(401);
  });
});

describe('a session', () => {
  it('reads the admin API like its token, HTML report pages included', async () => {
    const { cookie } = await login(VIEWER);
    const status = await request('GET', '/admin/status', { cookie });
    expect(status.status).toBe(200);
    expect(status.body['entities']).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'orders' })]));
    for (const path of ['/admin/canary', '/admin/guard', '/admin/shadow', '/admin/projections', '/admin/audit?limit=5'])
      expect((await request('GET', path, { cookie })).status, path).toBe(200);
    // No cookie, no bearer: refused, and the answer says how to log in.
    const none = await request('GET', '/admin/status');
    expect(none.status).toBe(401);
    expect(String(none.body['detail'])).toContain('Bearer');
  });

  it('an operator change without the CSRF token (a forged request) is refused with 403 csrf_failed and changes nothing', async () => {
    const { cookie, csrf } = await login(OPERATOR);
    const before = await canaryState();
    const forged = await request('POST', '/admin/canary/orders/pause', { cookie }, { reason: 'forged' });
    expect(forged.status).toBe(403);
    expect(forged.body['title']).toBe('csrf_failed');
    const wrong = await request('POST', '/admin/canary/orders/pause', { cookie, 'x-csrf-token': csrf.slice(0, -1) + 'x' }, { reason: 'x' });
    expect(wrong.status).toBe(403);
    // The CSRF token of another session does not fit this one.
    const other = await login(OPERATOR);
    expect(
      (
        await request(
          'POST',
          '/admin/canary/orders/pause',
          { cookie, 'x-csrf-token': other.csrf === csrf ? 'x' : other.csrf },
          { reason: 'x' },
        )
      ).status,
    ).toBe(403);
    const forgedProjection = await request('POST', '/admin/projections/orders/pause', { cookie }, { reason: 'forged' });
    expect(forgedProjection.status).toBe(403);
    expect(await canaryState()).toEqual(before);

    // With the token: done, and the audit names the token the session was made from.
    const paused = await request('POST', '/admin/canary/orders/pause', { cookie, 'x-csrf-token': csrf }, { reason: 'from the dashboard' });
    expect(paused.status).toBe(200);
    expect((await canaryState())['paused']).toBe(true);
    const audit = await request('GET', '/admin/audit?entity=orders&limit=1', { cookie });
    expect((audit.body['entries'] as Record<string, unknown>[])[0]).toMatchObject({
      actor: 'ops',
      action: 'pause',
      reason: 'from the dashboard',
    });
    const resumed = await request('POST', '/admin/canary/orders/resume', { cookie, 'x-csrf-token': csrf }, { reason: 'done' });
    expect(resumed.status).toBe(200);
  });

  it('a viewer session may read but not change, CSRF token or not', async () => {
    const { cookie, csrf } = await login(VIEWER);
    const r = await request('POST', '/admin/canary/orders/pause', { cookie, 'x-csrf-token': csrf }, { reason: 'viewer' });
    expect(r.status).toBe(403);
    expect(r.body['title']).toBe('forbidden');
    expect(String(r.body['detail'])).toContain('operator');
    expect((await request('PUT', '/admin/canary/orders', { cookie, 'x-csrf-token': csrf }, { percent: 10, reason: 'v' })).status).toBe(403);
    expect((await canaryState())['paused']).toBe(false);
  });

  it('a cookie changed by hand (a viewer turned operator) counts as no session', async () => {
    const { cookie, csrf } = await login(VIEWER);
    const [name, value] = cookie.split('=') as [string, string];
    const [payload, sig] = value.split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const forged = `${name}=${Buffer.from(JSON.stringify({ ...claims, role: 'operator' })).toString('base64url')}.${sig}`;
    expect((await request('GET', '/admin/status', { cookie: forged })).status).toBe(401);
    expect((await request('POST', '/admin/canary/orders/pause', { cookie: forged, 'x-csrf-token': csrf }, { reason: 'x' })).status).toBe(
      401,
    );
    expect((await request('GET', '/session', { cookie: forged })).status).toBe(401);
  });

  it('logout needs the CSRF token, clears the cookie and ends that session for good', async () => {
    const { cookie, csrf } = await login(OPERATOR);
    expect((await request('POST', '/session/logout', { cookie })).status).toBe(403);
    expect((await request('GET', '/admin/status', { cookie })).status).toBe(200);
    const out = await request('POST', '/session/logout', { cookie, 'x-csrf-token': csrf });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/^strangler_session=; .*Max-Age=0/);
    // A copy of the cookie kept elsewhere is dead too.
    expect((await request('GET', '/admin/status', { cookie })).status).toBe(401);
    expect((await request('GET', '/session', { cookie })).status).toBe(401);
  });
});

describe('bearer tokens, as scripts and the CLI send them', () => {
  it('work unchanged, need no CSRF token, and decide alone when a cookie is sent too', async () => {
    expect((await request('GET', '/admin/status', { authorization: `Bearer ${VIEWER}` })).status).toBe(200);
    const paused = await request('POST', '/admin/canary/orders/pause', { authorization: `Bearer ${OPERATOR}` }, { reason: 'script' });
    expect(paused.status).toBe(200);
    const resumed = await request('POST', '/admin/canary/orders/resume', { authorization: `Bearer ${OPERATOR}` }, { reason: 'script' });
    expect(resumed.status).toBe(200);
    // An operator cookie does not lift a viewer bearer token, nor rescue a wrong one.
    const { cookie, csrf } = await login(OPERATOR);
    const viewer = await request(
      'POST',
      '/admin/canary/orders/pause',
      { cookie, 'x-csrf-token': csrf, authorization: `Bearer ${VIEWER}` },
      { reason: 'x' },
    );
    expect(viewer.status).toBe(403);
    expect((await request('GET', '/admin/status', { cookie, authorization: 'Bearer wrong' })).status).toBe(401);
  });
});
