import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { EntityReadiness } from '../canary/stages.ts';
import { readCanaryStates } from '../canary/stateStore.ts';
import { initialState, type CanaryState } from '../canary/stages.ts';
import type { Config } from '../config/schema.ts';
import type { EventStore } from '../eventstore/index.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { measureLag } from '../projections/runner/lag.ts';
import { readProjection } from '../projections/runner/projectionRow.ts';
import { projectionState } from '../projections/runner/status.ts';
import { carryOut, restoreHeld, type ActionRecord } from './act.ts';
import { decide, freshMemory, type EntityMemory } from './decide.ts';
import { entitySettings, evaluateGates, GATE_STATES, type Gate, type GateInputs } from './gates.ts';
import {
  claimGuardLease,
  forgetReplica,
  latestReport,
  loadHolds,
  loadStatuses,
  publish,
  releaseGuardLease,
  saveStatus,
  sumWindow,
} from './store.ts';
import { createGuardStats, emptyCounts, type GuardStats } from './window.ts';
import type { Webhook } from './webhook.ts';

export interface GuardEntityStatus {
  policy: string;
  dryRun: boolean;
  stage: string;
  percent: number;
  paused: boolean;
  consecutiveFailures: number;
  lastAction: ActionRecord | null;
  gates: Gate[];
  evaluatedAt: string | null;
  /** The replica that evaluated it. */
  evaluatedBy: string | null;
}

export interface GuardOptions {
  store: EventStore;
  config: Config;
  logger: Logger;
  metrics: Metrics;
  webhook: Webhook;
  /** The entity's read routes and the handled ones (promotion and restore are checked against it). */
  readiness(entity: string): EntityReadiness;
  /** The projection that builds the entity's read model, or null. */
  projectionOf(entity: string): string | null;
  /** This replica's spool depth. */
  spoolDepth(): number;
  /** The schedule's period × 2 unless rollback.maxReportAgeMs is set. */
  maxReportAgeMs: number;
  /** Test-only: the stable period before a promotion in ms (instead of promotion.stableMinutes). */
  stableMs?: number;
  replica?: string;
  /** The ReadStats to publish, when the caller created it first (createGuardStats) to hand it to the read path. */
  stats?: GuardStats;
}

export interface Guard {
  /** The ReadStats the read path feeds. */
  stats: GuardStats;
  replica: string;
  isLeader(): boolean;
  /** Every entity's last evaluation (by whichever replica leads), read from the database. */
  status(): Promise<Record<string, GuardEntityStatus>>;
  /** One publish (and evaluation when leading) now; the timer does the same every interval. */
  tick(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The guard on one replica: every `rollback.intervalMs` it publishes what this replica's
 * read path counted (and its spool depth), renews or takes the lease, and when it holds it
 * evaluates every entity's gates over the window summed across live replicas and acts.
 */
export function createGuard(opts: GuardOptions): Guard {
  const { config, logger, metrics } = opts;
  const db = opts.store.db;
  const replica = opts.replica ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const intervalMs = config.rollback.intervalMs;
  const stats = opts.stats ?? createGuardStats();
  const entities = Object.keys(config.entities);
  const memory = new Map<string, EntityMemory>();
  const lastActions = new Map<string, ActionRecord | null>();
  let leader = false;
  let seeded = false;
  let stopped = false;
  let running: Promise<void> | null = null;

  const measure = async (entity: string, spoolDepth: number, window: GateInputs['window']): Promise<GateInputs> => {
    const name = opts.projectionOf(entity);
    let projection: GateInputs['projection'] = null;
    if (name !== null) {
      const row = await readProjection(db, name);
      if (!row) projection = { name, lagMs: 0, state: 'not_started' };
      else {
        const lag = await measureLag(opts.store, row.checkpoint, Date.now());
        projection = { name, lagMs: lag.ms, state: projectionState(row) };
      }
    }
    return { projection, report: await latestReport(db, entity), window, spoolDepth };
  };

  const seed = async () => {
    // A new leader carries on from the last evaluation: streaks and last actions survive a takeover.
    const saved = await loadStatuses(db);
    for (const e of entities) {
      const s = saved.get(e) as (GuardEntityStatus & { memory?: EntityMemory }) | undefined;
      if (s?.memory) memory.set(e, s.memory);
      lastActions.set(e, s?.lastAction ?? null);
    }
    seeded = true;
  };

  const evaluate = async () => {
    if (!seeded) await seed();
    const sums = await sumWindow(db, config.rollback.windowMs, intervalMs * 3);
    const states = await readCanaryStates(db);
    const holds = await loadHolds(db);
    const now = Date.now();
    for (const entity of entities) {
      let state: CanaryState = states.get(entity) ?? initialState(entity, new Date().toISOString());
      const settings = entitySettings(config, entity, opts.maxReportAgeMs);
      // What restoring a held step and carrying out a decision both act with.
      const acting = { db, entity, config, readiness: opts.readiness(entity), logger, metrics, webhook: opts.webhook, replica };
      const hold = holds.get(entity);
      if (hold && !state.paused) {
        const restored = await restoreHeld({ ...acting, hold, state });
        if (restored) {
          lastActions.set(entity, restored.record);
          state = restored.state;
        }
      }
      const window = sums.counts.get(entity) ?? emptyCounts();
      const gates = state.stage === 'dual_write' ? [] : evaluateGates(settings, await measure(entity, sums.spoolDepth, window));
      const { decision, memory: next } = decide({
        state,
        gates,
        settings,
        memory: memory.get(entity) ?? freshMemory(state.version),
        now,
        promotion: {
          enabled: config.rollback.promotion.enabled,
          stableMs: opts.stableMs ?? config.rollback.promotion.stableMinutes * 60_000,
        },
        readModelReads: window.rmReads,
      });
      if (decision.kind === 'act') {
        const done = await carryOut({ ...acting, decision, gates, state, settings });
        lastActions.set(entity, done.record);
        // Refused (a concurrent change held the row): tried again at the next evaluation.
        if (done.record.refused) next.acted = false;
        if (done.state) {
          next.version = done.state.version;
          state = done.state;
        }
      }
      memory.set(entity, next);
      const status: GuardEntityStatus & { memory: EntityMemory } = {
        policy: settings.policy,
        dryRun: settings.dryRun,
        stage: state.stage,
        percent: state.percent,
        paused: state.paused,
        consecutiveFailures: next.consecutiveFailures,
        lastAction: lastActions.get(entity) ?? null,
        gates,
        evaluatedAt: new Date(now).toISOString(),
        evaluatedBy: replica,
        memory: next,
      };
      await saveStatus(db, entity, status);
    }
  };

  const showMetrics = (statuses: Record<string, GuardEntityStatus>) => {
    for (const [entity, s] of Object.entries(statuses)) {
      for (const g of s.gates) {
        metrics.guardGateValue.set({ entity, gate: g.name }, g.value ?? Number.NaN);
        for (const st of GATE_STATES) metrics.guardGateState.set({ entity, gate: g.name, state: st }, st === g.state ? 1 : 0);
      }
    }
  };

  const status = async (): Promise<Record<string, GuardEntityStatus>> => {
    const saved = await loadStatuses(db);
    const out: Record<string, GuardEntityStatus> = {};
    for (const e of entities) {
      const s = saved.get(e) as (GuardEntityStatus & { memory?: unknown }) | undefined;
      const settings = entitySettings(config, e, opts.maxReportAgeMs);
      if (s) {
        const { memory: _memory, ...view } = s;
        out[e] = { ...view, policy: settings.policy, dryRun: settings.dryRun };
      } else
        out[e] = {
          policy: settings.policy,
          dryRun: settings.dryRun,
          stage: 'dual_write',
          percent: 0,
          paused: false,
          consecutiveFailures: 0,
          lastAction: null,
          gates: [],
          evaluatedAt: null,
          evaluatedBy: null,
        };
    }
    return out;
  };

  const once = async () => {
    await publish(db, replica, opts.spoolDepth(), stats.take());
    const held = await claimGuardLease(db, replica, intervalMs * 3);
    if (held !== leader) logger.info({ replica }, held ? 'guard: this replica leads (evaluates and acts)' : 'guard: another replica leads');
    if (!held) seeded = false;
    leader = held;
    if (held) await evaluate();
    showMetrics(await status());
  };

  let failures = 0;
  const tick = (): Promise<void> => {
    running ??= once()
      .then(
        () => void (failures = 0),
        (err: Error) => {
          if (failures++ === 0) logger.warn({ err: err.message }, 'guard: evaluation failed; retrying every interval');
        },
      )
      .finally(() => (running = null));
    return running;
  };
  const timer = setInterval(() => {
    if (!stopped) void tick();
  }, intervalMs);
  timer.unref();

  return {
    stats,
    replica,
    isLeader: () => leader,
    status,
    tick,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
      await releaseGuardLease(db, replica).catch(() => undefined);
      await forgetReplica(db, replica).catch(() => undefined);
      await opts.webhook.stop();
    },
  };
}
