import type { Logger } from 'pino';
import type { Executor } from '../db/executor.ts';
import { initialState, type CanaryState } from './stages.ts';
import { CANARY_CHANNEL, readCanaryStates } from './stateStore.ts';

export interface CanaryFollower {
  /** The entity's state as this replica last read it (dual_write until first changed). */
  current(entity: string): CanaryState;
  /** Every configured entity's state. */
  all(): CanaryState[];
  /** Reads the stored state now (after a change made here, so this replica does not wait). */
  refresh(): Promise<void>;
  stop(): Promise<void>;
}

export interface FollowOptions {
  entities: readonly string[];
  logger: Logger;
  /** Polling period, the fallback when a notification is lost or the backend cannot LISTEN. Default 500 ms. */
  pollMs?: number;
  /** Called with each entity whose stored state differs from the last one seen (and once at start). */
  onChange?: (state: CanaryState) => void;
}

/**
 * Keeps this replica's copy of the canary state: read at start, re-read on every
 * `strangler_canary` notification and every pollMs, so a change made through any replica
 * is applied here within a second even when a notification is lost. The hot path reads
 * the copy (`current`), never the database.
 */
export async function followCanary(db: Executor, opts: FollowOptions): Promise<CanaryFollower> {
  const states = new Map<string, CanaryState>();
  const startedAt = new Date().toISOString();
  for (const e of opts.entities) states.set(e, initialState(e, startedAt));
  let stopped = false;
  let inFlight: Promise<void> | null = null;

  const read = async () => {
    const stored = await readCanaryStates(db);
    for (const entity of opts.entities) {
      const next = stored.get(entity);
      const prev = states.get(entity);
      if (!next || (prev && prev.version === next.version && prev.updatedAt === next.updatedAt)) continue;
      states.set(entity, next);
      opts.onChange?.(next);
    }
  };
  const refresh = (): Promise<void> => {
    // One read at a time; a notification during a read is covered by the read after it.
    inFlight ??= read().finally(() => (inFlight = null));
    return inFlight;
  };

  await read();
  for (const s of states.values()) if (s.version === 0) opts.onChange?.(s);
  const unlisten = db.listen ? await db.listen(CANARY_CHANNEL, () => void refresh().catch(() => undefined)) : null;
  let failures = 0;
  const timer = setInterval(() => {
    if (stopped) return;
    refresh().then(
      () => (failures = 0),
      (err: Error) => {
        // The state stays as last read; logged once per outage, not every poll.
        if (failures++ === 0) opts.logger.warn({ err: err.message }, 'canary state: cannot read it; keeping the last state read');
      },
    );
  }, opts.pollMs ?? 500);
  timer.unref();

  return {
    current: (entity) => states.get(entity) ?? initialState(entity, startedAt),
    all: () => [...states.values()],
    refresh,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await unlisten?.();
      await inFlight?.catch(() => undefined);
    },
  };
}
