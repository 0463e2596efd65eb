import { PgState, sqlState, type Executor } from '../db/executor.ts';
import {
  applyChange,
  CanaryChangeRefused,
  describe,
  initialState,
  STAGES,
  type CanaryChange,
  type CanaryState,
  type EntityReadiness,
  type Stage,
} from './stages.ts';

/** Replicas LISTEN here; the payload is the entity that changed. */
export const CANARY_CHANNEL = 'strangler_canary';

export type ChangeSource = 'api' | 'cli' | 'guard' | 'config';

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  source: ChangeSource;
  entity: string;
  action: string;
  reason: string;
  /** Null only in entries written before the default state was recorded as the first change's before. */
  before: Omit<CanaryState, 'entity'> | null;
  after: Omit<CanaryState, 'entity'>;
  gates: unknown;
}

interface StateRow {
  entity: string;
  stage: string;
  percent: string | number;
  paused: boolean;
  version: string | number;
  updated_at: string;
  updated_by: string;
}

const STATE_COLUMNS = `entity, stage, percent, paused, version, to_json(updated_at) #>> '{}' AS updated_at, updated_by`;

function toState(r: StateRow): CanaryState {
  return {
    entity: r.entity,
    stage: (STAGES as readonly string[]).includes(r.stage) ? (r.stage as Stage) : 'dual_write',
    percent: Number(r.percent),
    paused: r.paused,
    version: Number(r.version),
    updatedAt: r.updated_at,
    updatedBy: r.updated_by,
  };
}

/** Every entity's stored state; entities never changed have no row (they are at dual_write). */
export async function readCanaryStates(db: Executor): Promise<Map<string, CanaryState>> {
  const { rows } = await db.query<StateRow>(`SELECT ${STATE_COLUMNS} FROM strangler_canary_state`);
  return new Map(rows.map((r) => [r.entity, toState(r)]));
}

export interface ChangeRequest {
  entity: string;
  change: CanaryChange;
  actor: string;
  source: ChangeSource;
  reason: string;
  /** The version the caller saw (GET /admin/canary); a newer stored one → 409. */
  expectedVersion?: number;
  steps: readonly number[];
  readiness: EntityReadiness;
  /** Gate values behind a guard action, kept in the audit entry. */
  gates?: unknown;
}

export interface ChangeResult {
  before: CanaryState;
  after: CanaryState;
  auditId: number;
}

const strip = ({ entity: _entity, ...rest }: CanaryState) => rest;

/**
 * One change, all or nothing: the row is locked (a concurrent change answers 409 rather
 * than waiting), the change checked against the current state, the new state and its
 * audit entry written in the same transaction, and every replica notified on commit.
 */
export async function changeCanary(db: Executor, req: ChangeRequest): Promise<ChangeResult> {
  try {
    return await db.transaction(async (tx) => {
      const { rows } = await tx.query<StateRow>(`SELECT ${STATE_COLUMNS} FROM strangler_canary_state WHERE entity = $1 FOR UPDATE NOWAIT`, [
        req.entity,
      ]);
      const before = rows[0] ? toState(rows[0]) : initialState(req.entity, new Date().toISOString());
      if (req.expectedVersion !== undefined && req.expectedVersion !== before.version)
        throw new CanaryChangeRefused(
          `${req.entity} changed since version ${req.expectedVersion} (now version ${before.version}: ${describe(before)}, by ${before.updatedBy}); read it again and retry.`,
        );
      const next = applyChange(before, req.change, req.steps, req.readiness);
      const written = await tx.query<StateRow>(
        `INSERT INTO strangler_canary_state (entity, stage, percent, paused, version, updated_at, updated_by)
         VALUES ($1, $2, $3, $4, 1, now(), $5)
         ON CONFLICT (entity) DO UPDATE SET stage = $2, percent = $3, paused = $4,
           version = strangler_canary_state.version + 1, updated_at = now(), updated_by = $5
         RETURNING ${STATE_COLUMNS}`,
        [req.entity, next.stage, next.percent, next.paused, req.actor],
      );
      const after = toState(written.rows[0]!);
      const audit = await tx.query<{ id: string | number }>(
        `INSERT INTO strangler_canary_audit (actor, source, entity, action, reason, before, after, gates)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
        [
          req.actor,
          req.source,
          req.entity,
          req.change.action,
          req.reason,
          JSON.stringify(strip(before)), // the default (dual_write, version 0, by config) before the first change
          JSON.stringify(strip(after)),
          req.gates === undefined ? null : JSON.stringify(req.gates),
        ],
      );
      await tx.query(`SELECT pg_notify($1, $2)`, [CANARY_CHANNEL, req.entity]);
      return { before, after, auditId: Number(audit.rows[0]!.id) };
    });
  } catch (err) {
    const state = sqlState(err);
    if (state === PgState.lockNotAvailable || state === PgState.uniqueViolation || state === PgState.serializationFailure)
      throw new CanaryChangeRefused(`Another change to ${req.entity} is being written right now; read the state again and retry.`);
    throw err;
  }
}

interface AuditRow {
  id: string | number;
  at: string;
  actor: string;
  source: ChangeSource;
  entity: string;
  action: string;
  reason: string;
  before: unknown;
  after: unknown;
  gates: unknown;
}

const parseJson = (v: unknown): unknown => (typeof v === 'string' ? JSON.parse(v) : v);

/** Audit entries, newest first. */
export async function listAudit(db: Executor, opts: { entity?: string; limit: number }): Promise<AuditEntry[]> {
  const params: unknown[] = [opts.limit];
  if (opts.entity !== undefined) params.push(opts.entity);
  const { rows } = await db.query<AuditRow>(
    `SELECT id, to_json(at) #>> '{}' AS at, actor, source, entity, action, reason, before, after, gates
       FROM strangler_canary_audit ${opts.entity !== undefined ? 'WHERE entity = $2' : ''}
      ORDER BY id DESC LIMIT $1`,
    params,
  );
  return rows.map((r) => ({
    ...r,
    id: Number(r.id),
    before: parseJson(r.before) as AuditEntry['before'],
    after: parseJson(r.after) as AuditEntry['after'],
    gates: parseJson(r.gates),
  }));
}
