import express, { type NextFunction, type Request, type Response } from 'express';
import type { ResolvedAdminToken } from '../config/schema.ts';
import { StranglerError } from '../errors/StranglerError.ts';
import type { Guard } from '../guard/guard.ts';
import { json } from './adminServer.ts';
import { authorize } from './auth.ts';

/**
 * `GET /admin/guard` (viewer): every entity's last evaluation by the leading replica, its
 * policy, dry run, failures in a row, last action and gates; answered by any replica.
 */
export function createGuardRouter(opts: { guard: Guard; tokens: readonly ResolvedAdminToken[] }): express.Router {
  const router = express.Router({ strict: true, caseSensitive: true });
  const viewer = (req: Request, res: Response, next: NextFunction) => {
    const result = authorize(req, opts.tokens, 'viewer');
    if (result.ok) return next();
    next(new StranglerError(result.status === 401 ? 'unauthorized' : 'forbidden', result.detail, { status: result.status }));
  };
  router.get('/guard', viewer, async (_req, res) => {
    json(res, 200, { replica: opts.guard.replica, leading: opts.guard.isLeader(), entities: await opts.guard.status() });
  });
  return router;
}
