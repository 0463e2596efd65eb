import fs from 'node:fs';
import express, { type Response } from 'express';
import type { ResolvedAdminToken } from '../config/schema.ts';
import type { AdminRouter } from './adminServer.ts';
import { createSessions } from './session.ts';

/**
 * The dashboard: one static page (`/`) with its script and style, no build step. It reads the
 * admin JSON endpoints with the session cookie (session.ts) and polls them; the files are
 * public (they hold no data), everything they show comes from the authenticated endpoints.
 * Kept beside this file (src/admin/dashboard/), so a compiled copy finds them the same way.
 */

const DIR = new URL('./dashboard/', import.meta.url);
const FILES = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
} as const;

/**
 * No inline script or style, nothing from elsewhere: an injected `<script>` in data shown by
 * the page (an audit reason, a mismatching value) cannot run. The page renders text with
 * textContent anyway; this is the second wall.
 */
export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export const DASHBOARD_ENDPOINTS = ['/', '/session'] as const;

/**
 * What the admin app needs for the dashboard: the session middleware (first on every request),
 * the `/session` and page routers, and their paths for the 404 list. The session key is made
 * here, once per process: a restart logs browsers out.
 */
export function createDashboard(opts: { tokens: readonly ResolvedAdminToken[] }): {
  middleware: express.RequestHandler[];
  routers: AdminRouter[];
  endpoints: readonly string[];
} {
  const sessions = createSessions({ tokens: opts.tokens });
  return {
    middleware: [sessions.middleware],
    routers: [
      { path: '/', router: sessions.router },
      { path: '/', router: createDashboardRouter() },
    ],
    endpoints: DASHBOARD_ENDPOINTS,
  };
}

export function createDashboardRouter(opts: { dir?: URL } = {}): express.Router {
  const dir = opts.dir ?? DIR;
  const cache = new Map<string, Buffer>();
  const read = (file: string): Buffer => {
    let body = cache.get(file);
    if (!body) {
      body = fs.readFileSync(new URL(file, dir));
      cache.set(file, body);
    }
    return body;
  };
  const send = (res: Response, path: keyof typeof FILES) => {
    const { file, type } = FILES[path];
    let body: Buffer;
    try {
      body = read(file);
    } catch (err) {
      throw new Error(
        `The dashboard file ${file} is missing next to the admin server (${dir.pathname}): ${(err as Error).message}. Reinstall or rebuild the package.`,
        { cause: err },
      );
    }
    res.writeHead(200, {
      'content-type': type,
      'content-length': body.length,
      'cache-control': 'no-cache',
      'content-security-policy': DASHBOARD_CSP,
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
    });
    res.end(body);
  };
  const router = express.Router({ strict: true, caseSensitive: true });
  for (const path of Object.keys(FILES) as (keyof typeof FILES)[]) router.get(path, (_req, res) => send(res, path));
  return router;
}
