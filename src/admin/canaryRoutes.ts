import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import type { CanaryFollower } from '../canary/follow.ts';
import {
  CANARY_ACTIONS,
  describe,
  STAGES,
  type CanaryAction,
  type CanaryChange,
  type CanaryState,
  type EntityReadiness,
  type Stage,
} from '../canary/stages.ts';
import { changeCanary, listAudit } from '../canary/stateStore.ts';
import type { ResolvedAdminToken } from '../config/schema.ts';
import type { Executor } from '../db/executor.ts';
import { StranglerError } from '../errors/StranglerError.ts';
import { json } from './adminServer.ts';
import { authorize, type AdminRole } from './auth.ts';
import { BadRequest } from './routeKit.ts';

export interface CanaryRoutesOptions {
  db: Executor;
  follower: CanaryFollower;
  /** Configured entities, in spec order. */
  entities: readonly string[];
  /** The canary steps (canary.steps). */
  steps: readonly number[];
  /** An entity's read routes and the ones this sidecar has a read handler for. */
  readiness(entity: string): EntityReadiness;
  tokens: readonly ResolvedAdminToken[];
  logger: Logger;
}

const MAX_REASON = 500;
const BODY_LIMIT = '16kb';
const PUT_EXAMPLE = '{"percent": 10, "reason": "first canary step"}';
const ACTION_EXAMPLE = '{"reason": "shadow clean for a day"}';

class NotFound extends StranglerError {
  constructor(message: string) {
    super('not_found', message, { status: 404 });
  }
}

const view = ({ entity: _entity, ...s }: CanaryState) => s;

/**
 * `/admin/canary` and `/admin/audit`: where each entity's reads stand and who moved them.
 * GET (viewer) reads this replica's copy of the state; changes (operator) are written to
 * the database with their audit entry in one transaction, and every replica follows.
 */
export function createCanaryRouter(opts: CanaryRoutesOptions): express.Router {
  const router = express.Router({ strict: true, caseSensitive: true });
  router.use(express.json({ limit: BODY_LIMIT, strict: false, type: () => true }));

  const auth = (need: AdminRole) => (req: Request, res: Response, next: NextFunction) => {
    const result = authorize(req, opts.tokens, need);
    if (result.ok) {
      res.locals['actor'] = result.token;
      return next();
    }
    next(new StranglerError(result.status === 401 ? 'unauthorized' : 'forbidden', result.detail, { status: result.status }));
  };
  const entityOf = (req: Request): string => {
    const entity = String(req.params['entity']);
    if (!opts.entities.includes(entity))
      throw new NotFound(`No entity "${entity}" in this sidecar's spec; it has ${opts.entities.join(', ') || 'none'}.`);
    return entity;
  };

  router.get('/canary', auth('viewer'), (_req, res) => {
    json(res, 200, { entities: Object.fromEntries(opts.entities.map((e) => [e, view(opts.follower.current(e))])) });
  });
  router.get('/canary/:entity', auth('viewer'), (req, res) => {
    json(res, 200, view(opts.follower.current(entityOf(req))));
  });

  const change = async (req: Request, res: Response, action: CanaryAction, example: string) => {
    const entity = entityOf(req);
    const body = objectBody(req.body, example);
    const allowed = action === 'set' ? ['stage', 'percent', 'reason', 'version'] : ['reason', 'version'];
    const unknown = Object.keys(body).filter((k) => !allowed.includes(k));
    if (unknown.length > 0)
      throw new BadRequest(`Unknown field ${unknown.join(', ')}; this takes ${allowed.join(', ')}. Example: ${example}`);
    const reason = reasonOf(body, example);
    const wanted: CanaryChange = { action };
    if (action === 'set') {
      if (body['stage'] !== undefined) {
        if (typeof body['stage'] !== 'string' || !(STAGES as readonly string[]).includes(body['stage']))
          throw new BadRequest(`stage must be one of ${STAGES.join(', ')}, got ${JSON.stringify(body['stage'])}. Example: ${example}`);
        wanted.stage = body['stage'] as Stage;
      }
      if (body['percent'] !== undefined) {
        if (typeof body['percent'] !== 'number')
          throw new BadRequest(`percent must be a number from 0 to 100, got ${JSON.stringify(body['percent'])}. Example: ${example}`);
        wanted.percent = body['percent'];
      }
    }
    const version = body['version'];
    if (version !== undefined && !(typeof version === 'number' && Number.isInteger(version) && version >= 0))
      throw new BadRequest(`version must be the integer version read from GET /admin/canary, got ${JSON.stringify(version)}.`);
    const actor = String(res.locals['actor']);
    const result = await changeCanary(opts.db, {
      entity,
      change: wanted,
      actor,
      source: req.get('x-strangler-client') === 'cli' ? 'cli' : 'api',
      reason,
      ...(version !== undefined ? { expectedVersion: version } : {}),
      steps: opts.steps,
      readiness: opts.readiness(entity),
    });
    await opts.follower.refresh().catch(() => undefined);
    opts.logger.info(
      { entity, action, actor, reason, before: describe(result.before), after: describe(result.after), paused: result.after.paused },
      `canary ${entity}: ${action} ${describe(result.before)} → ${describe(result.after)}`,
    );
    json(res, 200, { entity, before: view(result.before), after: view(result.after), auditId: result.auditId });
  };

  router.put('/canary/:entity', auth('operator'), (req, res) => change(req, res, 'set', PUT_EXAMPLE));
  router.post('/canary/:entity/:action', auth('operator'), (req, res) => {
    const action = String(req.params['action']);
    if (action === 'set' || !(CANARY_ACTIONS as readonly string[]).includes(action))
      throw new NotFound(
        `No canary action "${action}"; POST /admin/canary/ENTITY/promote|rollback|pause|resume, or PUT /admin/canary/ENTITY.`,
      );
    return change(req, res, action as CanaryAction, ACTION_EXAMPLE);
  });

  router.get('/audit', auth('viewer'), async (req, res) => {
    const entity = typeof req.query['entity'] === 'string' && req.query['entity'] !== '' ? req.query['entity'] : undefined;
    if (entity !== undefined && !opts.entities.includes(entity))
      throw new NotFound(`No entity "${entity}" in this sidecar's spec; it has ${opts.entities.join(', ') || 'none'}.`);
    const rawLimit = req.query['limit'];
    const limit = rawLimit === undefined ? 50 : Number(rawLimit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
      throw new BadRequest(
        `limit must be an integer from 1 to 1000, got ${JSON.stringify(rawLimit)}. Example: /admin/audit?entity=orders&limit=20`,
      );
    json(res, 200, { entries: await listAudit(opts.db, { limit, ...(entity !== undefined ? { entity } : {}) }) });
  });
  return router;
}

function objectBody(body: unknown, example: string): Record<string, unknown> {
  if (body === undefined || body === null || (typeof body === 'object' && Object.keys(body).length === 0 && !Array.isArray(body)))
    return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw new BadRequest(`The body must be a JSON object. Example: ${example}`);
  return body as Record<string, unknown>;
}

function reasonOf(body: Record<string, unknown>, example: string): string {
  const reason = body['reason'];
  if (typeof reason !== 'string' || reason.trim() === '')
    throw new BadRequest(`reason is required: say why, for the audit log. Example: ${example}`);
  if (reason.length > MAX_REASON) throw new BadRequest(`reason is longer than ${MAX_REASON} characters.`);
  return reason.trim();
}
