import type { Logger } from '../../logging/logger.ts';
import type { EventStore } from '../../eventstore/index.ts';
import type { ReadAllResult } from '../../eventstore/readAll.ts';
import type { Checkpoint } from '../../eventstore/types.ts';
import type { Metrics } from '../../metrics/metrics.ts';
import type { ProjectionModule } from '../types.ts';
import { applyEvents, noUpcast, type UpcastFn } from './applyEvents.ts';
import { createGrowthAnalyzer } from './analyzeAsItGrows.ts';
import { createBatchSizer } from './batchSize.ts';
import { commitBatch, pauseProjection, type Holder } from './commitBatch.ts';
import { describeError, LeaseLostError } from './errors.ts';
import { commitIsolatingPoison } from './isolatePoison.ts';
import { measureLag, type Lag } from './lag.ts';
import { claimLease, releaseLease } from './lease.ts';
import { registerProjection, type ProjectionRow } from './projectionRow.ts';
import { rebaseToEpoch } from './rebase.ts';
import { idle, Stopping, type Waker } from './sleep.ts';

export interface ProjectionRunnerOptions {
  store: EventStore;
  module: ProjectionModule;
  /** Unique per process (host:pid:random): the lease owner. */
  owner: string;
  logger: Logger;
  metrics?: Metrics;
  upcast?: UpcastFn;
  /** Events read per batch when caught up (projections.batchSize); while behind the batch grows (batchSize.ts). */
  batchSize?: number;
  /** The cap a batch grows to while behind (default DEFAULT_MAX_BATCH, never below batchSize). */
  maxBatchSize?: number;
  /** Lease lifetime; renewed at a third of it. A dead holder is replaced within about leaseMs + standbyMs. */
  leaseMs?: number;
  /** Idle poll when caught up or paused (default 250 ms; 1 s while the waker is listening, unless set). */
  pollMs?: number;
  /** Wakes the runner early when events are appended (LISTEN/NOTIFY); it polls without. */
  waker?: Waker;
  /** How often a standby tries to claim the lease. */
  standbyMs?: number;
  /** Retries of a single failing event before pause_and_alert (eventStore.maxRetries). */
  maxRetries?: number;
  /** First retry delay, doubled per retry (eventStore.retryBackoffMs). */
  retryBackoffMs?: number;
  /** Lag metrics refresh at most this often. */
  lagIntervalMs?: number;
  /** Runs each batch; the worker pool uses it to cap parallel batches (projections.workers). */
  gate?: <T>(fn: () => Promise<T>) => Promise<T>;
  clock?: () => number;
}

export interface RunnerState {
  name: string;
  leader: boolean;
  status: ProjectionRow['status'] | 'standby';
  checkpoint: Checkpoint | null;
  lag: Lag | null;
  lastError: string | null;
}

export interface ProjectionRunner {
  readonly name: string;
  start(): void;
  /** Stops after the batch in flight (never mid-transaction) and releases the lease. Idempotent. */
  stop(): Promise<void>;
  state(): RunnerState;
}

/**
 * One projection's loop: claim the lease (or stand by), read the global log after the
 * checkpoint in batches, commit each batch with its checkpoint through a compare-and-set,
 * idle when caught up until woken (LISTEN strangler_appended, when the store offers it) or the
 * next short poll. The batch grows while behind and shrinks when caught up (batchSize.ts).
 */
export function createProjectionRunner(o: ProjectionRunnerOptions): ProjectionRunner {
  const { store, module, owner, logger, metrics } = o;
  const name = module.name;
  const sizer = createBatchSizer({ base: o.batchSize ?? 50, ...(o.maxBatchSize ? { max: o.maxBatchSize } : {}) });
  const leaseMs = o.leaseMs ?? 5_000;
  const pollMs = o.pollMs ?? 250;
  // While append notifications arrive, the poll is only the fallback for one that did not (a
  // PgBouncer in between), and each idle poll is two queries: once a second is enough.
  const listeningPollMs = o.pollMs ?? 1_000;
  const standbyMs = o.standbyMs ?? 1_000;
  const lagIntervalMs = o.lagIntervalMs ?? 1_000;
  const upcast = o.upcast ?? noUpcast;
  const gate = o.gate ?? ((fn) => fn());
  const clock = o.clock ?? Date.now;
  const log = logger.child({ projection: name });
  const abort = new AbortController();
  const analyzer = createGrowthAnalyzer(store.db, log);
  let appliedHere = 0; // events this runner applied since it started: when to ANALYZE

  let row: ProjectionRow | null = null; // non-null while we hold the lease
  let renewedAt = 0;
  let lag: Lag | null = null;
  let lagAt = 0;
  let lastError: string | null = null;
  let running: Promise<void> | undefined;
  let stopped: Promise<void> | undefined;

  const setLeader = (leader: boolean) => metrics?.projectionLeader.set({ projection: name }, leader ? 1 : 0);

  async function claim(): Promise<boolean> {
    if (!row) await registerProjection(store.db, module, await store.epoch());
    const claimed = await claimLease(store.db, name, owner, leaseMs);
    renewedAt = clock();
    if (!claimed) {
      if (row) log.warn('lost the projection lease to another runner');
      row = null;
      setLeader(false);
      return false;
    }
    if (!row) {
      // Fresh leadership: make sure the served tables exist and the checkpoint is in this epoch.
      await store.db.exec(module.ddl(claimed.tables));
      if ((await rebaseToEpoch(store, name, await store.epoch())) === 'rebased')
        log.warn('event store epoch changed: checkpoint re-based by position');
      if (claimed.version !== module.version)
        log.warn(
          { stored: claimed.version, module: module.version },
          `projection version changed: run "strangler projections rebuild ${name}" to rebuild the read model`,
        );
      log.info({ position: claimed.checkpoint.position }, 'projection lease claimed');
      setLeader(true);
      row = (await claimLease(store.db, name, owner, leaseMs)) ?? null;
      return row !== null;
    }
    row = claimed; // adopt what the row says: an operator's resume or skip, a rebuild's swap
    return true;
  }

  async function refreshLag(force = false): Promise<void> {
    if (!row || (!force && clock() - lagAt < lagIntervalMs)) return;
    lagAt = clock();
    lag = await measureLag(store, row.checkpoint, clock());
    metrics?.projectionLagEvents.set({ projection: name }, lag.events);
    metrics?.projectionLagMs.set({ projection: name }, lag.ms);
    metrics?.projectionPaused.set({ projection: name }, row.status === 'paused' ? 1 : 0);
  }

  // The next batch, read on another connection while this one is applied: reading is about
  // a third of a catch-up, and the second core can do it. Used only if it starts exactly at
  // the checkpoint the batch before it committed; anything else discards it.
  let prefetch: { after: Checkpoint; result: Promise<ReadAllResult> } | null = null;

  // Only the module's own streams: another entity's events (a repair among them) never reach it.
  const readWindow = (after: Checkpoint, limit: number) =>
    store.readAll({ after, limit, ...(module.streams ? { streamPrefixes: module.streams } : {}) });

  async function read(after: Checkpoint, limit: number): Promise<ReadAllResult> {
    const ahead = prefetch;
    prefetch = null;
    if (ahead && sameCheckpoint(ahead.after, after)) {
      const result = await ahead.result.catch(() => null);
      // An empty prefetch may only mean our own open transaction held visibility back: look again.
      if (result && result.scanned > 0) return result;
    } else {
      ahead?.result.catch(() => {});
    }
    return readWindow(after, limit);
  }

  /**
   * One batch; returns how many events of the log were scanned (0 = caught up) and whether the
   * window came back full (behind). Scanned, not applied: other streams' events fill windows too.
   */
  async function step(current: ProjectionRow): Promise<{ read: number; full: boolean }> {
    const limit = sizer.size;
    const { events, checkpoint: end, scanned } = await read(current.checkpoint, limit);
    sizer.read(scanned, limit);
    if (scanned === 0) return { read: 0, full: false };
    // A prefetch may have been read with another limit: what counts is whether it came back full.
    const full = scanned >= limit;
    if (full) {
      prefetch = { after: end, result: readWindow(end, sizer.size) };
      prefetch.result.catch(() => {}); // awaited (or dropped) by the next read
    }
    const started = performance.now();
    let failed = false;
    const holder: Holder = { name, owner, expected: current.checkpoint, leaseMs };
    const outcome = await commitIsolatingPoison(events, {
      commit: async (part) => {
        // The whole batch moves the checkpoint to the window's end, past other streams' events after it.
        const through = part.length === events.length ? end : undefined;
        holder.expected = await commitBatch(store.db, holder, part, (tx, tables) => applyEvents(tx, module, part, tables, upcast), through);
        current.checkpoint = holder.expected;
        current.appliedEvents += part.length;
        renewedAt = clock();
        metrics?.projectionApplied.inc({ projection: name }, part.length);
      },
      pause: async (event, error, retries) => {
        await pauseProjection(store.db, holder, event, error, retries);
        current.status = 'paused';
        log.error(
          { eventId: event.id, position: event.position, type: event.type, error },
          `projection paused on a failing event (pause_and_alert): fix the handler, then "strangler projections resume ${name}" or "strangler projections skip ${name}"`,
        );
      },
      maxRetries: o.maxRetries ?? 3,
      retryBackoffMs: o.retryBackoffMs ?? 200,
      signal: abort.signal,
      onFailure: (kind, err, part) => {
        failed = true;
        metrics?.projectionFailures.inc({ projection: name, kind });
        log.warn({ err: describeError(err), events: part.length, first: part[0]?.position, kind }, 'projection batch failed');
      },
    });
    sizer.committed(performance.now() - started, failed);
    appliedHere += events.length;
    await analyzer.applied(appliedHere, current.tables);
    if (outcome === 'paused') await refreshLag(true);
    return { read: scanned, full };
  }

  async function loop(): Promise<void> {
    let errorBackoff = 0;
    let lastRead = 0; // events the previous step read
    while (!abort.signal.aborted) {
      try {
        if (!row || row.status === 'paused' || clock() - renewedAt > leaseMs / 3) {
          if (!(await claim())) {
            await idle(standbyMs, abort.signal);
            continue;
          }
        }
        const current = row!;
        if (current.status === 'paused') {
          await refreshLag();
          await idle(pollMs, abort.signal);
          continue;
        }
        const seen = o.waker?.seen();
        const { read, full } = await gate(() => step(current));
        errorBackoff = 0;
        lastError = null;
        // Read as soon as the runner has just caught up (the lag drops to 0 at once); while it
        // stays caught up, at lagIntervalMs like the rest, not one more query per idle poll.
        await refreshLag(read === 0 && lastRead > 0);
        lastRead = read;
        if (!full)
          await (o.waker ? o.waker.wait(o.waker.listening ? listeningPollMs : pollMs, abort.signal, seen) : idle(pollMs, abort.signal));
      } catch (err) {
        if (err instanceof Stopping) break;
        if (err instanceof LeaseLostError) {
          log.info({ reason: err.message }, 'batch aborted by the checkpoint compare-and-set; re-reading');
          row = null;
          setLeader(false);
          continue;
        }
        lastError = describeError(err);
        errorBackoff = Math.min(Math.max(errorBackoff * 2, 250), 5_000);
        log.error({ err: lastError, retryInMs: errorBackoff }, 'projection runner error; retrying from the checkpoint');
        row = null; // re-claim: re-reads the checkpoint, re-checks tables and epoch
        await idle(errorBackoff, abort.signal);
      }
    }
  }

  return {
    name,
    start() {
      running ??= loop().catch((err) => {
        lastError = describeError(err);
        log.error({ err: lastError }, 'projection runner stopped on an error');
      });
    },
    stop() {
      stopped ??= (async () => {
        abort.abort();
        await running;
        if (row) {
          row = null;
          setLeader(false);
          await releaseLease(store.db, name, owner).catch((err) =>
            log.warn({ err: describeError(err) }, 'could not release the projection lease; it expires on its own'),
          );
        }
      })();
      return stopped;
    },
    state: () => ({
      name,
      leader: row !== null,
      status: row ? row.status : 'standby',
      checkpoint: row?.checkpoint ?? null,
      lag,
      lastError,
    }),
  };
}

function sameCheckpoint(a: Checkpoint, b: Checkpoint): boolean {
  return a.transactionId === b.transactionId && a.position === b.position;
}
