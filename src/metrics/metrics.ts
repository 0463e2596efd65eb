import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AppendGroupStats } from '../eventstore/appendGroups.ts';
// prom-client's default metrics, one module each, as collectDefaultMetrics registers them:
// prom-client has no switch for one of them, and the GC histogram (gc.js) is opt-in here.
import eventLoopLag from 'prom-client/lib/metrics/eventLoopLag.js';
import heapSizeAndUsed from 'prom-client/lib/metrics/heapSizeAndUsed.js';
import heapSpacesSizeAndUsed from 'prom-client/lib/metrics/heapSpacesSizeAndUsed.js';
import osMemoryHeap from 'prom-client/lib/metrics/osMemoryHeap.js';
import gcDurations from 'prom-client/lib/metrics/gc.js';
import processCpuTotal from 'prom-client/lib/metrics/processCpuTotal.js';
import processHandles from 'prom-client/lib/metrics/processHandles.js';
import processMaxFileDescriptors from 'prom-client/lib/metrics/processMaxFileDescriptors.js';
import processOpenFileDescriptors from 'prom-client/lib/metrics/processOpenFileDescriptors.js';
import processRequests from 'prom-client/lib/metrics/processRequests.js';
import processResources from 'prom-client/lib/metrics/processResources.js';
import processStartTime from 'prom-client/lib/metrics/processStartTime.js';
import version from 'prom-client/lib/metrics/version.js';

/** Every metric family of the sidecar's process metrics starts with this. */
const PROCESS_METRICS_PREFIX = 'strangler_';

/** The one default metric left out unless asked for (`admin.gcMetrics`). */
export const GC_METRIC = `${PROCESS_METRICS_PREFIX}nodejs_gc_duration_seconds`;

const WITHOUT_GC = [
  processCpuTotal,
  processStartTime,
  osMemoryHeap,
  processOpenFileDescriptors,
  processMaxFileDescriptors,
  eventLoopLag,
  processResources,
  processHandles,
  processRequests,
  heapSizeAndUsed,
  heapSpacesSizeAndUsed,
  version,
];

/**
 * The event-loop delay histogram's timer, in ms. Node records the time between its ticks, so
 * `strangler_nodejs_eventloop_lag_*` include it: an idle loop reads ~10 ms, a delay is above that.
 */
export const EVENT_LOOP_RESOLUTION_MS = 10;

/**
 * prom-client's Node.js process metrics (CPU, memory, file descriptors, event loop lag, heap,
 * handles, version) under `strangler_`, and its GC duration histogram only when `gc` is set.
 *
 * The histogram observes every collection through a PerformanceObserver, and Node builds a
 * performance entry, with deprecated accessors, for each one: a busy sidecar scavenges many
 * times a second (every few dozen requests at the 2 MB semi-space of then), and on bench/proxy's passthrough that cost
 * ~12 % of the CPU per request (the entries were the largest thing promoted to the old
 * generation). GC pauses still show in the event loop lag metrics.
 */
export function registerProcessMetrics(register: Registry, opts: { gc: boolean }): void {
  const config = { prefix: PROCESS_METRICS_PREFIX, eventLoopMonitoringPrecision: EVENT_LOOP_RESOLUTION_MS };
  for (const metric of opts.gc ? [...WITHOUT_GC, gcDurations] : WITHOUT_GC) metric(register, config);
}

/**
 * A counter read at scrape time from a running total kept elsewhere (the event store's
 * append grouping), so the hot path keeps a plain integer and no metric call.
 */
function scrapedCounter(name: string, help: string, registers: Registry[], read: () => number | null): Counter {
  let last = 0;
  return new Counter({
    name,
    help,
    registers,
    collect(this: Counter) {
      const now = read();
      if (now !== null && now > last) {
        this.inc(now - last);
        last = now;
      }
    },
  });
}

/**
 * The metric catalogue: every metric the sidecar exports, on one registry owned by the
 * composition root (tests create their own). Names follow Prometheus conventions.
 */
export function createMetrics(registry = new Registry(), opts: { defaults?: boolean; gc?: boolean } = {}) {
  // `defaults`: the Node.js process metrics (registerProcessMetrics); `gc` adds the GC histogram.
  if (opts.defaults) registerProcessMetrics(registry, { gc: opts.gc ?? false });
  const r = [registry];
  let appendStats: (() => AppendGroupStats) | null = null;
  let healthRefresh: (() => void) | null = null;
  const stat = (key: keyof AppendGroupStats) => () => (appendStats ? appendStats()[key] : null);
  return {
    registry,
    /** Exports the store's append grouping counters (EventStore.appendStats). */
    watchAppendStats(read: () => AppendGroupStats): void {
      appendStats = read;
    },
    /** Called at each scrape: starts an event-store health check when the last one is stale (never waits for it). */
    watchEventStoreHealth(refresh: () => void): void {
      healthRefresh = refresh;
    },
    appendStatements: scrapedCounter(
      'strangler_append_statements_total',
      'Append statements sent to the event store; appends_total / statements_total is the average group size.',
      r,
      stat('statements'),
    ),
    appendsSent: scrapedCounter(
      'strangler_appends_total',
      'Appends sent to the event store through append grouping (alone or in a group).',
      r,
      stat('appends'),
    ),
    appendGroupFallbacks: scrapedCounter(
      'strangler_append_group_fallbacks_total',
      'Append groups rolled back (a stored event id, refused data, a deadlock) and sent again one by one.',
      r,
      stat('fallbacks'),
    ),
    requests: new Counter({
      name: 'strangler_proxy_requests_total',
      help: 'Requests through the public port, by route kind and status class.',
      labelNames: ['kind', 'status_class'] as const,
      registers: r,
    }),
    requestDuration: new Histogram({
      name: 'strangler_proxy_request_duration_seconds',
      help: 'Time from request to response end, by route kind.',
      labelNames: ['kind'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: r,
    }),
    upstreamErrors: new Counter({
      name: 'strangler_proxy_upstream_errors_total',
      help: 'Upstream failures answered by the sidecar (504 connect/timeout, 502 bad response).',
      labelNames: ['reason'] as const,
      registers: r,
    }),
    upgrades: new Counter({
      name: 'strangler_proxy_upgrades_total',
      help: 'Upgrade (WebSocket) requests, by outcome: tunnelled (101), declined (legacy answered otherwise), refused (501: legacy.upgrades off, or a command route), failed (502/504).',
      labelNames: ['outcome'] as const,
      registers: r,
    }),
    upgradesOpen: new Gauge({
      name: 'strangler_proxy_upgrades_open',
      help: 'Upgraded connections (WebSocket tunnels) open now.',
      registers: r,
    }),
    bodyTooLarge: new Counter({
      name: 'strangler_proxy_body_too_large_total',
      help: 'Command requests refused with 413 before reaching legacy.',
      registers: r,
    }),
    eventsAppended: new Counter({
      name: 'strangler_events_appended_total',
      help: 'Events appended by the command path or the spool drainer, by entity.',
      labelNames: ['entity', 'via'] as const,
      registers: r,
    }),
    appendDuration: new Histogram({
      name: 'strangler_append_duration_seconds',
      help: 'Event store append latency on the command path.',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: r,
    }),
    appendConflicts: new Counter({
      name: 'strangler_append_conflicts_total',
      help: 'Optimistic concurrency conflicts retried on the command path.',
      registers: r,
    }),
    captureErrors: new Counter({
      name: 'strangler_capture_errors_total',
      help: 'Commands whose events could not be built (spec does not match the answer); reconciliation repairs these.',
      labelNames: ['entity', 'reason'] as const,
      registers: r,
    }),
    spoolDepth: new Gauge({ name: 'strangler_spool_depth', help: 'Appends waiting in the durable spool.', registers: r }),
    spoolWrites: new Counter({
      name: 'strangler_spool_writes_total',
      help: 'Appends written to the spool (event store slow or down), by reason.',
      labelNames: ['reason'] as const,
      registers: r,
    }),
    spoolDrained: new Counter({
      name: 'strangler_spool_drained_total',
      help: 'Spooled appends drained into the event store.',
      registers: r,
    }),
    invisibleEvents: new Gauge({
      name: 'strangler_eventstore_invisible_committed_events',
      help: 'Committed events global readers cannot see yet (an older transaction is open).',
      registers: r,
    }),
    eventStoreEvents: new Gauge({
      name: 'strangler_eventstore_events',
      help: 'Events in the event store, as counted by the last event-store health check (0 before the first).',
      registers: r,
      collect() {
        healthRefresh?.();
      },
    }),
    eventStoreConsistencyErrors: new Gauge({
      name: 'strangler_eventstore_consistency_errors',
      help: 'Consistency errors the last event-store health check found, by check (duplicate_event_ids, stream_versions, stream_heads, global_positions).',
      labelNames: ['check'] as const,
      registers: r,
    }),
    eventStoreHealthCheckDuration: new Histogram({
      name: 'strangler_eventstore_health_check_duration_seconds',
      help: 'Wall time of finished event-store health checks (the doctor, behind /health/event-store and the scrape).',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: r,
    }),
    projectionLagEvents: new Gauge({
      name: 'strangler_projection_lag_events',
      help: 'Events in the log after the projection checkpoint.',
      labelNames: ['projection'] as const,
      registers: r,
    }),
    projectionLagMs: new Gauge({
      name: 'strangler_projection_lag_milliseconds',
      help: 'Now minus recorded-at of the oldest event the projection has not applied (0 when caught up).',
      labelNames: ['projection'] as const,
      registers: r,
    }),
    projectionPaused: new Gauge({
      name: 'strangler_projection_paused',
      help: '1 while the projection is paused, on a failing event (pause_and_alert) or by an operator, else 0.',
      labelNames: ['projection'] as const,
      registers: r,
    }),
    projectionApplied: new Counter({
      name: 'strangler_projection_events_applied_total',
      help: 'Events committed into the read model by this process, by projection.',
      labelNames: ['projection'] as const,
      registers: r,
    }),
    projectionFailures: new Counter({
      name: 'strangler_projection_failures_total',
      help: 'Failed projection attempts (retry: retried or split; pause: paused and alerted).',
      labelNames: ['projection', 'kind'] as const,
      registers: r,
    }),
    reconcileMismatchRate: new Gauge({
      name: 'strangler_reconciliation_mismatch_rate',
      help: 'Mismatch rate of the last finished reconciliation: (missing + extra + differing) / max(legacy rows, projected rows).',
      labelNames: ['entity'] as const,
      registers: r,
    }),
    reconcileRows: new Gauge({
      name: 'strangler_reconciliation_rows',
      help: 'Rows of the last finished reconciliation: kind legacy and read_model (rows on each side), matched, missing, extra, differing, pending.',
      labelNames: ['entity', 'kind'] as const,
      registers: r,
    }),
    reconcileDuration: new Histogram({
      name: 'strangler_reconciliation_duration_seconds',
      help: 'Wall time of finished reconciliation runs.',
      labelNames: ['entity'] as const,
      buckets: [1, 5, 10, 30, 60, 300, 900, 3600],
      registers: r,
    }),
    reconcileLastSuccess: new Gauge({
      name: 'strangler_reconciliation_last_success_timestamp_seconds',
      help: 'When the last reconciliation run of the entity finished (whatever its verdict).',
      labelNames: ['entity'] as const,
      registers: r,
    }),
    reconcileVerdict: new Gauge({
      name: 'strangler_reconciliation_verdict',
      help: 'Verdict of the last finished reconciliation: 1 for its verdict (within_tolerance, over_tolerance, inconclusive), 0 for the others. Inconclusive: a projection feeding the entity is paused, failing or behind reconciliation.maxPendingLagMs.',
      labelNames: ['entity', 'verdict'] as const,
      registers: r,
    }),
    reconcileFailures: new Counter({
      name: 'strangler_reconciliation_failures_total',
      help: 'Reconciliation runs that ended in an error.',
      labelNames: ['entity'] as const,
      registers: r,
    }),
    canaryPercent: new Gauge({
      name: 'strangler_canary_percent',
      help: "Share of the entity's keys whose reads the read model answers (0-100), as this replica follows it.",
      labelNames: ['entity'] as const,
      registers: r,
    }),
    canaryStage: new Gauge({
      name: 'strangler_canary_stage',
      help: "1 for the entity's current stage (dual_write, shadow, canary, complete), 0 for the others.",
      labelNames: ['entity', 'stage'] as const,
      registers: r,
    }),
    reads: new Counter({
      name: 'strangler_reads_total',
      help: 'Reads of read routes by who answered (legacy, read-model) and why (served, routed, no_key, override, read_your_writes, list_lag, error, timeout, passed).',
      labelNames: ['entity', 'route', 'source', 'outcome'] as const,
      registers: r,
    }),
    readDuration: new Histogram({
      name: 'strangler_read_duration_seconds',
      help: 'Time to answer a read route, by who answered it.',
      labelNames: ['entity', 'source'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: r,
    }),
    shadowComparisons: new Counter({
      name: 'strangler_shadow_comparisons_total',
      help: 'Shadow comparisons of a legacy answer with the read model: match, mismatch, error, shed (over the cap or too large), noisy (differed only in noisy paths).',
      labelNames: ['entity', 'route', 'result'] as const,
      registers: r,
    }),
    guardActions: new Counter({
      name: 'strangler_guard_actions_total',
      help: 'Guard actions by entity, action (rollback, freeze, alert, promote, restore; would_* in dry run) and reason (the gate).',
      labelNames: ['entity', 'action', 'reason'] as const,
      registers: r,
    }),
    guardGateValue: new Gauge({
      name: 'strangler_guard_gate_value',
      help: "A guard gate's last measured value (ms, rate, ratio or depth; NaN when there was none).",
      labelNames: ['entity', 'gate'] as const,
      registers: r,
    }),
    guardGateState: new Gauge({
      name: 'strangler_guard_gate_state',
      help: "1 for a guard gate's last state (pass, fail, inconclusive), 0 for the others.",
      labelNames: ['entity', 'gate', 'state'] as const,
      registers: r,
    }),
    projectionLeader: new Gauge({
      name: 'strangler_projection_leader',
      help: '1 while this process holds the projection lease, else 0.',
      labelNames: ['projection'] as const,
      registers: r,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
