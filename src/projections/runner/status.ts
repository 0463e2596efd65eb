import type { EventStore } from '../../eventstore/index.ts';
import type { ProjectionModule } from '../types.ts';
import { measureLag } from './lag.ts';
import { listProjections, type ProjectionRow } from './projectionRow.ts';

export interface ProjectionStatus {
  name: string;
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
      rebuild: null,
    });
  }
  return out;
}
