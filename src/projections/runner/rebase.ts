import type { EventStore } from '../../eventstore/index.ts';
import { START, type Checkpoint } from '../../eventstore/types.ts';
import { ProjectionStateError } from './errors.ts';
import { readProjection } from './projectionRow.ts';

/**
 * Brings a projection's checkpoints into the store's current epoch.
 *
 * Transaction ids are only comparable inside one PostgreSQL cluster; positions survive a
 * dump/restore. So when the epoch differs, each checkpoint (live and rebuild) is re-based
 * by position: it becomes the (transaction id, position) the event at that position has
 * in this cluster. What was applied is "everything up to that event", as before. An event
 * missing at that position means the log was not restored whole: we refuse (an error the
 * runner reports) rather than guess; `strangler projections rebuild` starts over from 0.
 * A row without an epoch (new) just takes the current one.
 */
export async function rebaseToEpoch(store: EventStore, name: string, epoch: string): Promise<'unchanged' | 'rebased'> {
  return store.db.transaction(async (tx) => {
    const row = await readProjection(tx, name, { forUpdate: true });
    if (!row || row.epoch === epoch) return 'unchanged';
    const live = row.epoch === null ? row.checkpoint : await at(store, name, row.checkpoint);
    const rebuild = row.rebuild && row.epoch !== null ? await at(store, name, row.rebuild.checkpoint) : row.rebuild?.checkpoint;
    await tx.query(
      `UPDATE strangler_projections SET epoch = $2, checkpoint_tx = $3::xid8, checkpoint_pos = $4,
              rebuild_checkpoint_tx = $5::xid8, rebuild_checkpoint_pos = $6, updated_at = now()
        WHERE name = $1`,
      [name, epoch, live.transactionId, live.position, rebuild?.transactionId ?? null, rebuild?.position ?? null],
    );
    return row.epoch === null ? 'unchanged' : 'rebased';
  });
}

async function at(store: EventStore, name: string, cp: Checkpoint): Promise<Checkpoint> {
  if (cp.position === 0) return START;
  const found = await store.checkpointAt(cp.position);
  if (!found) {
    throw new ProjectionStateError(
      `Projection "${name}": the event store epoch changed and no event has position ${cp.position} in this cluster, so the checkpoint cannot be re-based. Run: strangler projections rebuild ${name}`,
    );
  }
  return found;
}
