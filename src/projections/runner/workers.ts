import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { Logger } from '../../logging/logger.ts';
import type { EventStore } from '../../eventstore/index.ts';
import type { Metrics } from '../../metrics/metrics.ts';
import type { ProjectionModule } from '../types.ts';
import type { UpcastFn } from './applyEvents.ts';
import { createProjectionRunner, type ProjectionRunner, type ProjectionRunnerOptions, type RunnerState } from './runner.ts';
import { createWaker } from './sleep.ts';

export type RunnerSettings = Pick<
  ProjectionRunnerOptions,
  'batchSize' | 'maxBatchSize' | 'leaseMs' | 'pollMs' | 'standbyMs' | 'maxRetries' | 'retryBackoffMs' | 'lagIntervalMs' | 'clock'
>;

/** A projection to run and the upcasters its handlers expect (RegisteredProjection fits). */
export interface RunnableProjection {
  module: ProjectionModule;
  upcasters?: { upcast: UpcastFn };
}

export interface ProjectionWorkersOptions extends RunnerSettings {
  store: EventStore;
  projections: readonly RunnableProjection[];
  /** Batches in flight at once across all projections (projections.workers). */
  workers: number;
  logger: Logger;
  metrics?: Metrics;
  /** Lease owner id; default host:pid:random. */
  owner?: string;
}

export interface ProjectionWorkers {
  readonly owner: string;
  readonly runners: readonly ProjectionRunner[];
  start(): void;
  /** Stops every runner after its batch in flight and releases the leases. Idempotent. */
  stop(): Promise<void>;
  state(): RunnerState[];
}

/** A lease owner id unique to this process: readable in status output (which host, which pid). */
export function runnerOwnerId(): string {
  return `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}

/** At most `permits` calls of fn run at once; the rest queue in arrival order. */
export function createGate(permits: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let free = permits;
  const waiting: (() => void)[] = [];
  return async (fn) => {
    if (free > 0) free--;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await fn();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else free++;
    }
  };
}

/**
 * One runner per projection, each with its own lease, so replicas share the projections
 * between them; the gate caps how many batches run in parallel in this process.
 */
export function createProjectionWorkers(o: ProjectionWorkersOptions): ProjectionWorkers {
  const owner = o.owner ?? runnerOwnerId();
  const gate = createGate(Math.max(1, o.workers));
  const { store, projections, workers: _w, logger, metrics, owner: _o, ...settings } = o;
  const waker = createWaker();
  let unlisten: Promise<(() => Promise<void>) | null> = Promise.resolve(null);
  const runners = projections.map(({ module, upcasters }) =>
    createProjectionRunner({
      ...settings,
      store,
      module,
      owner,
      logger,
      gate,
      waker,
      ...(metrics ? { metrics } : {}),
      ...(upcasters ? { upcast: (e) => upcasters.upcast(e) } : {}),
    }),
  );
  let stopped: Promise<void> | undefined;
  return {
    owner,
    runners,
    start() {
      // Woken by append notifications where the store can LISTEN; the poll covers the rest
      // (a notification lost while the listening connection reconnects, a PgBouncer in between).
      unlisten = store.onAppended
        ? store
            .onAppended((delivered) => {
              // A NOTIFY got through: the poll becomes the fallback (runner.ts). Behind a
              // transaction-pooling PgBouncer LISTEN is accepted but nothing is delivered.
              if (delivered) waker.listening = true;
              waker.wake();
            })
            // Appends made before the LISTEN took effect sent their NOTIFY to no one: the
            // wake-up on connecting covers them instead of the first poll interval. One NOTIFY
            // of our own shows whether they are delivered, before any append.
            .then((off) => {
              store.signalAppended().catch(() => {});
              return off;
            })
            .catch((err: Error) => {
              logger.warn({ err: err.message }, 'cannot LISTEN for appends; projection runners poll');
              return null;
            })
        : Promise.resolve(null);
      for (const r of runners) r.start();
      logger.info({ owner, projections: runners.map((r) => r.name), workers: o.workers }, 'projection runners started');
    },
    stop() {
      stopped ??= (async () => {
        await (
          await unlisten
        )?.();
        await Promise.all(runners.map((r) => r.stop()));
      })();
      return stopped;
    },
    state: () => runners.map((r) => r.state()),
  };
}
