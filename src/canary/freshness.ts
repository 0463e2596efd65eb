import type { Logger } from 'pino';
import type { EventStore } from '../eventstore/index.ts';
import type { Checkpoint } from '../eventstore/types.ts';
import { listProjections } from '../projections/runner/projectionRow.ts';

/**
 * How far each projection's read model is, as this replica last read it: its checkpoint
 * (re-read from strangler_projections every checkpointMs and on append wake-ups) and its
 * lag in milliseconds (every lagMs). The read path asks these instead of the
 * database on each request. Stale values only send more reads to legacy: a checkpoint read
 * earlier is at or behind the real one, and what the read model holds is at or past it.
 */
export interface Freshness {
  /**
   * The projection's checkpoint when the read model may answer from it, or null when it may
   * not: not seen yet, paused, failed, or written in another epoch of the store.
   */
  checkpoint(projection: string): Checkpoint | null;
  /** Lag in ms at the last measurement; Infinity when not measured (yet) or unusable. */
  lagMs(projection: string): number;
  stop(): Promise<void>;
}

export interface FreshnessOptions {
  store: EventStore;
  /** The projections the read path consults (by name). */
  projections: readonly string[];
  logger: Logger;
  checkpointMs?: number;
  lagMs?: number;
}

/** Whether a reader at `checkpoint` has read the event at `head`: (transaction_id, position) order, as readAll.ts reads. */
export function hasApplied(checkpoint: Checkpoint, head: Checkpoint): boolean {
  const a = checkpoint.transactionId;
  const b = head.transactionId;
  // xid8 as decimal text: a longer number is larger; equal lengths compare as text.
  if (a !== b) return a.length !== b.length ? a.length > b.length : a > b;
  return checkpoint.position >= head.position;
}

export async function startFreshness(opts: FreshnessOptions): Promise<Freshness> {
  const { store, logger } = opts;
  const wanted = new Set(opts.projections);
  // No read handler, nothing to follow: no timers, no LISTEN connection.
  if (wanted.size === 0) return { checkpoint: () => null, lagMs: () => Infinity, stop: async () => undefined };
  const checkpoints = new Map<string, Checkpoint>();
  const lags = new Map<string, number>();
  let epoch: string | null = null;
  let stopped = false;
  let failures = 0;

  let inFlight: Promise<void> | null = null;
  const readCheckpoints = async () => {
    epoch ??= await store.epoch();
    const rows = await listProjections(store.db);
    const seen = new Set<string>();
    for (const row of rows) {
      if (!wanted.has(row.name)) continue;
      // An operator's pause or a failed event (status paused, failure set) stops the read
      // model where it is: conservative, every read of its entities goes to legacy until it runs.
      if (row.status !== 'running' || row.failure !== null || (row.epoch !== null && row.epoch !== epoch)) continue;
      checkpoints.set(row.name, row.checkpoint);
      seen.add(row.name);
    }
    for (const name of [...checkpoints.keys()]) if (!seen.has(name)) checkpoints.delete(name);
  };
  const refresh = () => {
    inFlight ??= readCheckpoints()
      .then(
        () => (failures = 0),
        (err: Error) => {
          // Kept as last read (behind the real one: safe); said once per outage.
          if (failures++ === 0) logger.warn({ err: err.message }, 'read path: cannot read projection checkpoints; keeping the last ones');
        },
      )
      .then(() => {
        inFlight = null;
      });
    return inFlight;
  };
  const measure = async () => {
    await Promise.all(
      [...wanted].map(async (name) => {
        const cp = checkpoints.get(name);
        if (!cp) return void lags.set(name, Infinity);
        lags.set(name, await lagMs(store, cp).catch(() => Infinity));
      }),
    );
  };

  await refresh();
  await measure();
  const unlisten = store.onAppended ? await store.onAppended(() => void refresh()).catch(() => null) : null;
  const cpTimer = setInterval(() => void refresh(), opts.checkpointMs ?? 100);
  cpTimer.unref();
  let measuring: Promise<void> | null = null;
  const lagTimer = setInterval(() => {
    if (stopped || measuring) return;
    measuring = measure().finally(() => (measuring = null));
  }, opts.lagMs ?? 250);
  lagTimer.unref();

  return {
    checkpoint: (name) => checkpoints.get(name) ?? null,
    lagMs: (name) => (checkpoints.has(name) ? (lags.get(name) ?? Infinity) : Infinity),
    async stop() {
      stopped = true;
      clearInterval(cpTimer);
      clearInterval(lagTimer);
      await unlisten?.();
      await inFlight;
      await measuring;
    },
  };
}

/**
 * measureLag's `ms` without its event count: the age of the oldest visible event after the
 * checkpoint (0 when none). One index probe, where the count would scan a whole backlog
 * every few hundred milliseconds on every replica. Any stream's event counts, so a
 * projection that reads only its own streams may look further behind than it is: safe.
 */
async function lagMs(store: EventStore, checkpoint: Checkpoint): Promise<number> {
  const next = await store.readAll({ after: checkpoint, limit: 1 });
  const oldest = next.events[0];
  return oldest ? Math.max(0, Date.now() - Date.parse(oldest.recordedAt)) : 0;
}
