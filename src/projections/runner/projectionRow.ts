import type { Executor } from '../../db/executor.ts';
import type { Checkpoint } from '../../eventstore/types.ts';
import type { ProjectionModule, TableNames } from '../types.ts';

/** strangler_projections as the runner sees it. */
export interface ProjectionRow {
  name: string;
  version: number;
  tables: TableNames;
  checkpoint: Checkpoint;
  epoch: string | null;
  appliedEvents: number;
  status: 'running' | 'paused';
  leaseOwner: string | null;
  leaseExpiresAt: string | null;
  failure: { eventId: string; checkpoint: Checkpoint; error: string; at: string; retries: number } | null;
  /** Paused by an operator (status 'paused' with no failure): who, why, when. */
  pause: { by: string; reason: string | null; at: string } | null;
  rebuild: {
    version: number;
    tables: TableNames;
    checkpoint: Checkpoint;
    applied: number;
    owner: string | null;
    expiresAt: string | null;
    startedAt: string;
  } | null;
}

export const PROJECTION_COLUMNS = `name, version, tables, checkpoint_tx::text AS checkpoint_tx, checkpoint_pos, epoch, applied_events, status,
  lease_owner, lease_expires_at, failed_event_id, failed_tx::text AS failed_tx, failed_position, last_error, failed_at, retries,
  rebuild_version, rebuild_tables, rebuild_checkpoint_tx::text AS rebuild_checkpoint_tx, rebuild_checkpoint_pos, rebuild_applied,
  rebuild_owner, rebuild_expires_at, rebuild_started_at, paused_by, pause_reason,
  to_char(paused_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS paused_at`;

export interface RawProjectionRow {
  name: string;
  version: number;
  tables: string;
  checkpoint_tx: string;
  checkpoint_pos: string;
  epoch: string | null;
  applied_events: string;
  status: 'running' | 'paused';
  lease_owner: string | null;
  lease_expires_at: string | null;
  failed_event_id: string | null;
  failed_tx: string | null;
  failed_position: string | null;
  last_error: string | null;
  failed_at: string | null;
  retries: number;
  rebuild_version: number | null;
  rebuild_tables: string | null;
  rebuild_checkpoint_tx: string | null;
  rebuild_checkpoint_pos: string | null;
  rebuild_applied: string | null;
  rebuild_owner: string | null;
  rebuild_expires_at: string | null;
  rebuild_started_at: string | null;
  paused_by: string | null;
  pause_reason: string | null;
  paused_at: string | null;
}

const json = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v) as TableNames;

export function toProjectionRow(r: RawProjectionRow): ProjectionRow {
  return {
    name: r.name,
    version: r.version,
    tables: json(r.tables),
    checkpoint: { transactionId: r.checkpoint_tx, position: Number(r.checkpoint_pos) },
    epoch: r.epoch,
    appliedEvents: Number(r.applied_events),
    status: r.status,
    leaseOwner: r.lease_owner,
    leaseExpiresAt: r.lease_expires_at,
    failure:
      r.failed_event_id === null
        ? null
        : {
            eventId: r.failed_event_id,
            checkpoint: { transactionId: r.failed_tx ?? '0', position: Number(r.failed_position ?? 0) },
            error: r.last_error ?? '',
            at: r.failed_at ?? '',
            retries: r.retries,
          },
    pause: r.paused_by === null ? null : { by: r.paused_by, reason: r.pause_reason, at: r.paused_at ?? '' },
    rebuild:
      r.rebuild_version === null || r.rebuild_tables === null
        ? null
        : {
            version: r.rebuild_version,
            tables: json(r.rebuild_tables),
            checkpoint: { transactionId: r.rebuild_checkpoint_tx ?? '0', position: Number(r.rebuild_checkpoint_pos ?? 0) },
            applied: Number(r.rebuild_applied ?? 0),
            owner: r.rebuild_owner,
            expiresAt: r.rebuild_expires_at,
            startedAt: r.rebuild_started_at ?? '',
          },
  };
}

/** The served physical table of each logical table: the logical name itself until configured otherwise. */
export function defaultTables(module: ProjectionModule): TableNames {
  return Object.fromEntries(module.tables.map((t) => [t, t]));
}

/**
 * Creates the projection's row at checkpoint START if it has none. Safe from many replicas
 * at once (ON CONFLICT DO NOTHING); never touches an existing row.
 */
export async function registerProjection(db: Executor, module: ProjectionModule, epoch: string): Promise<void> {
  await db.query(
    `INSERT INTO strangler_projections (name, version, tables, epoch) VALUES ($1, $2, $3::jsonb, $4)
     ON CONFLICT (name) DO NOTHING`,
    [module.name, module.version, JSON.stringify(defaultTables(module)), epoch],
  );
}

export async function readProjection(db: Executor, name: string, opts: { forUpdate?: boolean } = {}): Promise<ProjectionRow | null> {
  const { rows } = await db.query<RawProjectionRow>(
    `SELECT ${PROJECTION_COLUMNS} FROM strangler_projections WHERE name = $1${opts.forUpdate ? ' FOR UPDATE' : ''}`,
    [name],
  );
  const row = rows[0];
  return row ? toProjectionRow(row) : null;
}

export async function listProjections(db: Executor): Promise<ProjectionRow[]> {
  const { rows } = await db.query<RawProjectionRow>(`SELECT ${PROJECTION_COLUMNS} FROM strangler_projections ORDER BY name`);
  return rows.map(toProjectionRow);
}

export const sameCheckpoint = (a: Checkpoint, b: Checkpoint) => a.transactionId === b.transactionId && a.position === b.position;
