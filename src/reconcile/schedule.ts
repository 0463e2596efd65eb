import cron from 'node-cron';
import type { Logger } from '../logging/logger.ts';
import type { EntityResult, Reconciler } from './reconciler.ts';

export interface ReconcileScheduler {
  start(): void;
  /** Stops the schedule; a run in progress stops after its current chunk (resumed by the next start). Idempotent. */
  stop(): Promise<void>;
  /** Runs now, outside the schedule (the admin API); refused while one runs in this process. */
  trigger(opts: {
    entity?: string;
    trigger: string;
    /** Rows recorded for this request by entity (the admin API's queued runs). */
    queued?: ReadonlyMap<string, number>;
  }): { accepted: true; done: Promise<EntityResult[]> } | { accepted: false; reason: string };
  running(): boolean;
}

/**
 * node-cron on the configured expression. Every replica schedules it; the run row of each
 * entity (claimed under an advisory lock, renewed by heartbeat) lets one replica run it and
 * makes the others skip. A tick while this process still runs the previous one is skipped too
 * (overlapping runs are skipped, not queued).
 */
export function createReconcileScheduler(opts: { expression: string; reconciler: Reconciler; logger: Logger }): ReconcileScheduler {
  let inFlight: Promise<EntityResult[]> | null = null;
  const stopping = new AbortController();
  let task: ReturnType<typeof cron.schedule> | null = null;

  function launch(entity: string | undefined, trigger: string, queued?: ReadonlyMap<string, number>): Promise<EntityResult[]> {
    const done = opts.reconciler
      .run({ ...(entity ? { entity } : {}), trigger, signal: stopping.signal, ...(queued ? { queued } : {}) })
      .finally(() => {
        inFlight = null;
      });
    inFlight = done;
    return done;
  }

  return {
    start() {
      if (task) return;
      task = cron.schedule(
        opts.expression,
        async () => {
          if (inFlight) {
            opts.logger.warn({ schedule: opts.expression }, 'reconciliation tick skipped: the previous run is still in progress');
            return;
          }
          const results = await launch(undefined, 'schedule');
          for (const r of results) {
            if ('error' in r) opts.logger.error({ entity: r.entity, err: r.error.message }, 'scheduled reconciliation failed');
            else if (r.outcome.kind === 'skipped')
              opts.logger.info({ entity: r.entity, reason: r.outcome.reason }, 'scheduled reconciliation skipped');
          }
        },
        { name: 'strangler-reconciliation', noOverlap: true },
      );
      opts.logger.info({ schedule: opts.expression, next: task.getNextRun()?.toISOString() ?? null }, 'reconciliation scheduled');
    },
    async stop() {
      const t = task;
      task = null;
      if (t) await t.destroy();
      stopping.abort(new Error('the sidecar is stopping'));
      await inFlight?.catch(() => {});
    },
    trigger({ entity, trigger, queued }) {
      if (inFlight) return { accepted: false, reason: 'a reconciliation run is already in progress in this sidecar' };
      if (stopping.signal.aborted) return { accepted: false, reason: 'the sidecar is stopping' };
      return { accepted: true, done: launch(entity, trigger, queued) };
    },
    running: () => inFlight !== null,
  };
}
