import type { Executor } from '../../db/executor.ts';
import { createEventStore } from '../../eventstore/index.ts';
import { START } from '../../eventstore/types.ts';
import { measureLag } from '../../projections/runner/lag.ts';
import { readProjection } from '../../projections/runner/projectionRow.ts';

/** The projection that builds an entity's read model, as a run saw it when it finished. */
export interface FeedingProjection {
  name: string;
  status: 'running' | 'paused' | 'not_started';
  /** The error of the event it is retrying or paused on; null when it is not failing. */
  failing: string | null;
  lagEvents: number;
  lagMs: number;
}

export interface ProjectionVerdict {
  projection: FeedingProjection;
  /** Why the run cannot conclude (paused, failing, or behind maxPendingLagMs); null = it can. */
  inconclusive: string | null;
}

/**
 * A run compares legacy with a read model; rows whose events the projection has not applied
 * are `pending`, not drift. That is only honest while the projection moves: a paused,
 * failing or far-behind projection turns real drift into `pending`, so the verdict becomes
 * inconclusive instead of a within-tolerance that hides it.
 */
export async function feedingProjection(
  store: Executor,
  name: string,
  maxPendingLagMs: number,
  now = Date.now(),
): Promise<ProjectionVerdict> {
  const row = await readProjection(store, name);
  const lag = await measureLag(createEventStore(store), row?.checkpoint ?? START, now);
  const projection: FeedingProjection = {
    name,
    status: row ? row.status : 'not_started',
    failing: row?.failure?.error ?? null,
    lagEvents: lag.events,
    lagMs: lag.ms,
  };
  const next = `; ${row?.status === 'paused' ? `resume it (strangler projections resume ${name})` : 'fix it'} and reconcile again`;
  let inconclusive: string | null = null;
  if (row?.status === 'paused')
    inconclusive = `projection ${name} is paused${row.failure ? ` on event ${row.failure.eventId} (${row.failure.error})` : ''}${next}`;
  else if (row?.failure) inconclusive = `projection ${name} is failing on event ${row.failure.eventId} (${row.failure.error})${next}`;
  else if (lag.ms > maxPendingLagMs)
    inconclusive = `projection ${name} is ${Math.round(lag.ms / 1000)} s behind (${lag.events} events), more than reconciliation.maxPendingLagMs ${maxPendingLagMs} ms; wait for it to catch up and reconcile again`;
  return { projection, inconclusive };
}
