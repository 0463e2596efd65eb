import express, { type NextFunction, type Request, type Response } from 'express';
import type { EntitySummary } from '../canary/shadow/createShadow.ts';
import type { ResolvedAdminToken } from '../config/schema.ts';
import { StranglerError } from '../errors/StranglerError.ts';
import { json } from './adminServer.ts';
import { authorize } from './auth.ts';
import { BadRequest } from './routeKit.ts';

export interface ShadowRoutesOptions {
  /** Every entity's comparison summary, or one entity's (undefined: not in the spec). */
  summary: {
    (): Record<string, EntitySummary>;
    (entity: string): EntitySummary | undefined;
  };
  tokens: readonly ResolvedAdminToken[];
}

const EXAMPLE = '/admin/shadow?entity=orders';

/**
 * `GET /admin/shadow[?entity=]` (viewer): this replica's shadow comparisons per read route
 * (counts, mismatch rate, noisy paths, ignore rules) and its sampled mismatches with their
 * path-level diffs. Counts are since this process started; the metrics carry the rest.
 */
export function createShadowRouter(opts: ShadowRoutesOptions): express.Router {
  const router = express.Router({ strict: true, caseSensitive: true });
  const viewer = (req: Request, _res: Response, next: NextFunction) => {
    const result = authorize(req, opts.tokens, 'viewer');
    if (result.ok) return next();
    next(new StranglerError(result.status === 401 ? 'unauthorized' : 'forbidden', result.detail, { status: result.status }));
  };
  router.get('/shadow', viewer, (req, res) => {
    const unknown = Object.keys(req.query).filter((k) => k !== 'entity');
    if (unknown.length > 0)
      throw new BadRequest(`Unknown query parameter(s) ${unknown.join(', ')}; /admin/shadow takes only "entity". Example: ${EXAMPLE}`);
    const raw = req.query['entity'];
    if (raw === undefined) return json(res, 200, { entities: opts.summary() });
    if (typeof raw !== 'string' || raw === '')
      throw new BadRequest(`entity must be one entity name, got ${JSON.stringify(raw)}. Example: ${EXAMPLE}`);
    const one = opts.summary(raw);
    if (!one) {
      const names = Object.keys(opts.summary());
      throw new StranglerError('not_found', `No entity "${raw}" in this sidecar's spec; it has ${names.join(', ') || 'none'}.`, {
        status: 404,
      });
    }
    json(res, 200, { entities: { [raw]: one } });
  });
  return router;
}
