import type { EventStore } from '../../eventstore/index.ts';
import type { ProjectionModule } from '../types.ts';
import { measureLag } from './lag.ts';
import { listProjections, type ProjectionRow } from './projectionRow.ts';

/**
 * What an operator needs to know at a glance: `failed` (paused on a failing event: resume or
 * skip), `paused` (by an operator: resume), `rebuilding` (new tables being built while the
 * old ones serve), `running`, or `not_started` (configured, no runner has claimed it yet).
 */
export type ProjectionState = 'running' | 'paused' | 'failed' | 'rebuilding' | 'not_started';

export function projectionState(row: Pick<ProjectionRow, 'status' | 'failure' | 'rebuild'>): ProjectionState {
  if (row.status === 'paused') return row.failure ? 'failed' : 'paused';
  return row.rebuild ? 'rebuilding' : 'running';
}

export interface ProjectionStatus {
  name: string;
  state: ProjectionState;
  /** Version the read model was built with; the module's own when it differs (a rebuild is due). */
  version: number | null;
  moduleVersion: number | null;
  status: ProjectionRow['status'] | 'not_started';
  leaseOwner: string | null;
  leaseExpiresAt: string | null;
  position: number;
  appliedEvents: number;
  lagEvents: number;
  lagMs: number;
  failure: { eventId: string; position: number; error: string; at: string; retries: number } | null;
  /** Who paused it, why and when (an operator's pause; a failure is in `failure`). */
  pause: ProjectionRow['pause'];
  rebuild: { version: number; position: number; applied: number; remaining: number; owner: string | null; startedAt: string } | null;
}

/** Every projection the store knows, plus configured modules that never ran, with their lag now. */
export async function projectionStatus(
  store: EventStore,
  opts: { modules?: readonly ProjectionModule[]; now?: number } = {},
): Promise<ProjectionStatus[]> {
  const now = opts.now ?? Date.now();
  const modules = new Map((opts.modules ?? []).map((m) => [m.name, m]));
  const rows = await listProjections(store.db);
  const out: ProjectionStatus[] = [];
  for (const row of rows) {
    const lag = await measureLag(store, row.checkpoint, now);
    out.push({
      name: row.name,
      state: projectionState(row),
      version: row.version,
      moduleVersion: modules.get(row.name)?.version ?? null,
      status: row.status,
      leaseOwner: row.leaseOwner,
      leaseExpiresAt: row.leaseExpiresAt,
      position: row.checkpoint.position,
      appliedEvents: row.appliedEvents,
      lagEvents: lag.events,
      lagMs: lag.ms,
      failure: row.failure && {
        eventId: row.failure.eventId,
        position: row.failure.checkpoint.position,
        error: row.failure.error,
        at: row.failure.at,
        retries: row.failure.retries,
      },
      pause: row.pause,
      rebuild: row.rebuild && {
        version: row.rebuild.version,
        position: row.rebuild.checkpoint.position,
        applied: row.rebuild.applied,
        remaining: await store.countAfter(row.rebuild.checkpoint),
        owner: row.rebuild.owner,
        startedAt: row.rebuild.startedAt,
      },
    });
  }
  for (const m of modules.values()) {
    if (rows.some((r) => r.name === m.name)) continue;
    const lagEvents = await store.countAfter({ transactionId: '0', position: 0 });
    out.push({
      name: m.name,
      state: 'not_started',
      version: null,
      moduleVersion: m.version,
      status: 'not_started',
      leaseOwner: null,
      leaseExpiresAt: null,
      position: 0,
      appliedEvents: 0,
      lagEvents,
      lagMs: 0,
      failure: null,
      pause: null,
      rebuild: null,
    });
  }
  return out;
}
