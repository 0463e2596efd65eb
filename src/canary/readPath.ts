import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { CanaryConfig, EntityConfig, ReadSpec } from '../config/schema.ts';
import type { Executor } from '../db/executor.ts';
import type { EventStore } from '../eventstore/index.ts';
import type { Checkpoint } from '../eventstore/types.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { Passthrough } from '../proxy/passthrough.ts';
import type { LegacyTap, PassthroughExtras } from '../proxy/passthroughTap.ts';
import { REQUEST_ID_HEADER } from '../proxy/requestId.ts';
import type { ReadAnswer, ReadHandler, ReadHandlers, ReadRequest } from '../reads/types.ts';
import type { CanaryFollower } from './follow.ts';
import { hasApplied, type Freshness } from './freshness.ts';
import { SOURCE_HEADER, writeReadAnswer } from './readAnswer.ts';
import { overrideOf, routeRead, stickyKeyOf, type ReadDecision } from './readRouting.ts';
import { NO_READ_STATS, type ReadOutcome, type ReadSource, type ReadStats } from './readStats.ts';
import { NO_SHADOW, type Shadow } from './shadowTypes.ts';
import type { Stage } from './stages.ts';

export interface ReadPathOptions {
  entities: Readonly<Record<string, EntityConfig>>;
  canary: CanaryConfig;
  handlers: ReadHandlers;
  follower: Pick<CanaryFollower, 'current'>;
  /** Projection checkpoints and lags (freshness.ts). */
  freshness: Pick<Freshness, 'checkpoint' | 'lagMs'>;
  /** Entity → the projection that builds its read model; null: none of its own (`of:X`), always legacy. */
  projectionOf: (entity: string) => string | null;
  /** Streams this replica appended to that still wait in the spool (their reads go to legacy). */
  pendingInSpool?: (streamId: string) => boolean;
  store: Pick<EventStore, 'streamHead'>;
  /** The read model's database, handed to handlers. */
  db: Executor;
  passthrough: Passthrough;
  shadow?: Shadow;
  stats?: ReadStats;
  metrics?: Metrics;
  logger: Logger;
}

/** A classified read route (routeTable.ts). */
export interface ReadRoute {
  entity: string;
  spec: ReadSpec;
  route: string;
  params: Record<string, string>;
}

type Counter = { inc(): void };
type Observer = { observe(v: number): void };

interface RouteInfo {
  entity: string;
  route: string;
  handler: ReadHandler;
  projection: string | null;
  /** Item routes (`:id`): the stream is prefix + id + suffix; null for the others (lists). */
  stream: readonly [string, string] | null;
  counts: Record<ReadSource, Partial<Record<ReadOutcome, Counter>>>;
  durations: Record<ReadSource, Observer | undefined>;
}

const TIMEOUT = Symbol('timeout');
const noop = () => undefined;

/**
 * The read path of the public port: each read of a route with a handler is answered by
 * legacy or by the read model, as the entity's stage, the sticky key, the tester's override,
 * read-your-writes and list lag decide (docs/internals.md, "Reads"). The read model's
 * failures and slow answers fall back to legacy at once; every outcome is counted. An
 * entity at dual_write, or a route with no handler, goes straight to the passthrough.
 */
export function createReadPath(opts: ReadPathOptions): (req: IncomingMessage, res: ServerResponse, route: ReadRoute) => void {
  const { canary, passthrough, freshness } = opts;
  const shadow = opts.shadow ?? NO_SHADOW;
  const stats = opts.stats ?? NO_READ_STATS;
  const overrideHeader = canary.overrideHeader === false ? null : canary.overrideHeader.toLowerCase();
  // Every read is a GET with no body: a connection legacy reset before answering is retried once.
  const legacyExtras: PassthroughExtras = Object.freeze({
    retryOnReset: true,
    ...(canary.sourceHeader ? { header: [SOURCE_HEADER, 'legacy'] as const } : {}),
  });
  const routes = new Map<ReadSpec, RouteInfo>();
  for (const [entity, e] of Object.entries(opts.entities)) {
    for (const spec of e.reads) {
      const handler = opts.handlers.get(entity)?.get(spec.route);
      if (!handler) continue;
      const [prefix, suffix] = e.stream.split('{id}') as [string, string];
      routes.set(spec, {
        entity,
        route: spec.route,
        handler,
        projection: opts.projectionOf(entity),
        stream: /\/:id(\/|$)/.test(spec.route) ? [prefix, suffix] : null,
        counts: { legacy: {}, 'read-model': {} },
        durations: {
          legacy: opts.metrics?.readDuration.labels({ entity, source: 'legacy' }),
          'read-model': opts.metrics?.readDuration.labels({ entity, source: 'read-model' }),
        },
      });
    }
  }

  const record = (info: RouteInfo, source: ReadSource, outcome: ReadOutcome, started: number, readModelSeconds?: number) => {
    const seconds = (performance.now() - started) / 1000;
    (info.counts[source][outcome] ??= opts.metrics?.reads.labels({ entity: info.entity, route: info.route, source, outcome }) ?? {
      inc: noop,
    }).inc();
    info.durations[source]?.observe(seconds);
    stats.read({
      entity: info.entity,
      route: info.route,
      source,
      outcome,
      seconds,
      ...(readModelSeconds !== undefined ? { readModelSeconds } : {}),
    });
  };

  /** Legacy answers; counted when the client's response ends. A comparison is offered only for reads routed there by choice. */
  const toLegacy = (
    req: IncomingMessage,
    res: ServerResponse,
    route: ReadRoute,
    info: RouteInfo,
    outcome: ReadOutcome,
    started: number,
    stage: Stage | null,
    readModelSeconds?: number,
  ) => {
    res.once('close', () => record(info, 'legacy', outcome, started, readModelSeconds));
    let extras = legacyExtras;
    if (stage !== null && shadow.wanted(info.entity, info.route, stage)) {
      const tap: LegacyTap = {
        maxBytes: canary.shadow.maxBodyBytes,
        done: (legacy) => {
          if (legacy)
            shadow.submit({
              ...{ entity: info.entity, route: info.route, request: readRequest(req, route.params), legacy },
              fresh: () => couldServe(info, route.params),
            });
          else {
            // Too large to compare: shed, as the comparison's own cap would.
            opts.metrics?.shadowComparisons.inc({ entity: info.entity, route: info.route, result: 'shed' });
            stats.shadow(info.entity, info.route, 'shed');
          }
        },
      };
      extras = { ...legacyExtras, tap };
    }
    passthrough(req, res, extras);
  };

  const fromModel = async (
    req: IncomingMessage,
    res: ServerResponse,
    route: ReadRoute,
    info: RouteInfo,
    decision: ReadDecision,
    started: number,
    checkpoint: Checkpoint | null,
    streamId: string | null,
  ) => {
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<typeof TIMEOUT>((resolve) => (timer = setTimeout(() => resolve(TIMEOUT), canary.readTimeoutMs)));
    let result: typeof TIMEOUT | [ReadAnswer, Checkpoint | null];
    try {
      // The stream's head is read alongside the handler's query: no extra round trip.
      const work = Promise.all([
        Promise.resolve().then(() => info.handler.handle(readRequest(req, route.params), { db: opts.db, signal: abort.signal })),
        checkpoint !== null && streamId !== null ? opts.store.streamHead(streamId) : null,
      ]);
      work.catch(noop); // after a timeout nobody awaits it
      result = await Promise.race([work, timeout]);
    } catch (err) {
      clearTimeout(timer);
      const readModelSeconds = (performance.now() - started) / 1000;
      opts.logger.warn({ entity: info.entity, route: info.route, err: (err as Error).message }, 'read model failed; legacy answered');
      return toLegacy(req, res, route, info, 'error', started, null, readModelSeconds);
    }
    clearTimeout(timer);
    if (result === TIMEOUT) {
      abort.abort();
      return toLegacy(req, res, route, info, 'timeout', started, null, (performance.now() - started) / 1000);
    }
    const [answer, head] = result;
    // The handler leaves this request to legacy (e.g. a parameter only legacy validates).
    if (answer.pass === true) return toLegacy(req, res, route, info, 'passed', started, null);
    // The checkpoint was read before the handler's query began, so the answer holds at least
    // what it says; a head past it is a write the read model may not show yet.
    if (checkpoint !== null && head !== null && !hasApplied(checkpoint, head))
      return toLegacy(req, res, route, info, 'read_your_writes', started, null);
    const id = req.headers[REQUEST_ID_HEADER];
    writeReadAnswer(res, answer, typeof id === 'string' ? id : undefined, canary.sourceHeader);
    record(info, 'read-model', decision.outcome, started, (performance.now() - started) / 1000);
  };

  /** The read path's freshness rule, asked by the shadow: could the read model answer this read now? */
  const couldServe = async (info: RouteInfo, params: Readonly<Record<string, string>>): Promise<boolean> => {
    const checkpoint = info.projection === null ? null : freshness.checkpoint(info.projection);
    if (checkpoint === null) return false;
    if (info.stream === null) return freshness.lagMs(info.projection!) <= canary.maxListLagMs;
    const streamId = info.stream[0] + (params['id'] ?? '') + info.stream[1];
    if (opts.pendingInSpool?.(streamId)) return false;
    const head = await opts.store.streamHead(streamId);
    return head === null || hasApplied(checkpoint, head);
  };

  return (req, res, route) => {
    const info = routes.get(route.spec);
    if (info === undefined) return passthrough(req, res);
    const state = opts.follower.current(info.entity);
    if (state.stage === 'dual_write') return passthrough(req, res);
    const started = performance.now();
    const decision =
      (overrideHeader !== null ? overrideOf(req.headers[overrideHeader]) : null) ??
      routeRead(state, info.entity, stickyKeyOf(canary.stickyKey, req, route.params));
    if (decision.source === 'legacy') return toLegacy(req, res, route, info, decision.outcome, started, state.stage);
    if (decision.outcome === 'override') return void fromModel(req, res, route, info, decision, started, null, null);
    // Read-your-writes: a projection that is not running (or an entity without one) cannot be trusted with any read.
    const checkpoint = info.projection === null ? null : freshness.checkpoint(info.projection);
    if (info.stream === null) {
      if (checkpoint === null || freshness.lagMs(info.projection!) > canary.maxListLagMs)
        return toLegacy(req, res, route, info, 'list_lag', started, null);
      return void fromModel(req, res, route, info, decision, started, null, null);
    }
    const streamId = info.stream[0] + (route.params['id'] ?? '') + info.stream[1];
    if (checkpoint === null || opts.pendingInSpool?.(streamId)) return toLegacy(req, res, route, info, 'read_your_writes', started, null);
    void fromModel(req, res, route, info, decision, started, checkpoint, streamId);
  };
}

function readRequest(req: IncomingMessage, params: Readonly<Record<string, string>>): ReadRequest {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return { method: req.method ?? 'GET', url, params, query: new URLSearchParams(q === -1 ? '' : url.slice(q + 1)), headers: req.headers };
}
