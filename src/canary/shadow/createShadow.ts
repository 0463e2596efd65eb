import type { Logger } from 'pino';
import type { CanaryConfig, EntityConfig } from '../../config/schema.ts';
import type { Executor } from '../../db/executor.ts';
import type { Metrics } from '../../metrics/metrics.ts';
import type { ClientActivity } from '../../proxy/clientActivity.ts';
import type { ReadAnswer, ReadHandler, ReadHandlers, ReadRequest } from '../../reads/types.ts';
import { NO_READ_STATS, SHADOW_RESULTS, type ReadStats, type ShadowResult } from '../readStats.ts';
import type { Shadow, ShadowSubmission } from '../shadowTypes.ts';
import { comparesReads, type Stage } from '../stages.ts';
import { compareSides, legacyBody, mediaTypeOf, noisePaths, readModelSide, type ComparedSide, type Comparison } from './compare.ts';
import { compileMatcher, formatPath, generalise, parsePattern, type PathMatcher, type PatternSegment } from './jsonDiff.ts';
import { BodyTooLarge, decodeBody, type LegacyReread } from './legacyReread.ts';
import { createQuietQueue } from './quietQueue.ts';

/**
 * The shadow comparison (Scientist's experiment, Diffy's noise): legacy answers the client;
 * afterwards, in the background, the route's read handler is asked the same question and
 * the two answers compared. Nothing here runs on the client's path: submit() only counts
 * and schedules, for a moment when no client request is in flight (quietQueue.ts; at most
 * half of `maxConcurrent` wait). Over `maxConcurrent` comparisons waiting or in flight, or a
 * body over `maxBodyBytes`, a comparison is shed (counted, never queued beyond that: a queue
 * would grow without bound under load).
 *
 * A difference is counted only if it holds on a second look: the read model caught up for
 * the key (`fresh`), then both sides asked again, and those two answers compared. A write
 * that landed between legacy's answer and the read model's query (a client reading, then
 * writing the same key, while the comparison waited for a quiet moment) changes both sides
 * alike and is not a mismatch; a wrong read model differs on both looks.
 *
 * Noise: for the first NOISE_WARMUP comparisons of each route, and a `noiseSampleRate` share
 * after that, legacy is read a second time. Paths where legacy's two answers differ are
 * noise for that comparison at once; a path seen differing in NOISE_CONFIRMATIONS such
 * reads becomes noisy for the route (array indices as [*]), excluded from later comparisons
 * and listed. One sighting is not enough for the route: a write landing between the two
 * reads changes a real field once, and a path marked noisy hides real mismatches for good.
 */

export const NOISE_WARMUP = 5;
export const NOISE_CONFIRMATIONS = 2;
/** Differences listed per comparison (the rest are counted in `more`). */
export const MAX_DIFFS = 20;
/** Noisy paths kept per route: a body that differs everywhere must not grow a list without end. */
const MAX_NOISY = 100;
/** Paths seen differing once, kept per route (bodies keyed by ids would otherwise grow it for ever). */
const MAX_SIGHTINGS = 1000;

export interface ShadowOptions {
  settings: CanaryConfig['shadow'];
  /** The spec's entities: their read routes and ignore rules. */
  entities: Readonly<Record<string, Pick<EntityConfig, 'reads'>>>;
  handlers: ReadHandlers;
  /** The read model's database, handed to the handlers. */
  db: Executor;
  /** Reads legacy a second time (noise detection, and the second look at a difference); null: neither. */
  reread: LegacyReread | null;
  /** Client requests in flight on the public port: comparisons wait for none (quietQueue.ts). Default: none known, at once. */
  activity?: ClientActivity | null;
  metrics: Pick<Metrics, 'shadowComparisons'>;
  stats?: ReadStats;
  logger: Logger;
  /** [0, 1): sampling decisions. Seed it in tests. Default Math.random. */
  random?: () => number;
  now?: () => Date;
}

export interface ShadowSample {
  /** When the read was submitted (legacy had answered). */
  at: string;
  route: string;
  url: string;
  status: { legacy: number; readModel: number };
  mediaType?: { legacy: string | null; readModel: string | null };
  diffs: Comparison['diffs'];
  /** Differences beyond those listed. */
  more: number;
}

export interface RouteSummary extends Record<ShadowResult, number> {
  /** Whether this sidecar has a read handler for the route (without one it is never compared). */
  handled: boolean;
  /** mismatch / (match + mismatch + noisy); null before the first completed comparison. */
  mismatchRate: number | null;
  noisyPaths: string[];
  ignored: { path: string; reason: string }[];
  lastError: { at: string; message: string } | null;
}

export interface EntitySummary {
  routes: Record<string, RouteSummary>;
  /** Mismatching reads, newest first, at most shadow.maxSamples. */
  samples: ShadowSample[];
}

export interface ShadowComparer extends Shadow {
  /** Every entity, or one; undefined for an entity not in the spec. */
  summary: {
    (): Record<string, EntitySummary>;
    (entity: string): EntitySummary | undefined;
  };
  /** Resolves once every comparison submitted so far has been recorded. */
  idle(): Promise<void>;
}

interface RouteState {
  entity: string;
  route: string;
  handler: ReadHandler | undefined;
  counts: Record<ShadowResult, number>;
  ignored: { path: string; reason: string }[];
  ignore: PathMatcher;
  noisy: Map<string, PatternSegment[]>;
  noisyMatch: PathMatcher;
  /** Generalised path → legacy double reads it differed in. */
  sightings: Map<string, number>;
  probes: number;
  lastError: { at: string; message: string } | null;
}

/** `passed`: the handler leaves this request to legacy (PASS_TO_LEGACY), or the read model is behind for it: nothing compared, nothing counted. */
type Outcome =
  { result: 'shed' | 'error'; message?: string } | { result: 'passed' } | { result: Comparison['result']; comparison: Comparison };

export function createShadow(opts: ShadowOptions): ShadowComparer {
  const { settings, logger } = opts;
  const random = opts.random ?? Math.random;
  const now = opts.now ?? (() => new Date());
  const stats = opts.stats ?? NO_READ_STATS;
  const routes = new Map<string, Map<string, RouteState>>();
  // Newest read first (by submission: comparisons finish out of order), with its sequence number.
  const samples = new Map<string, { seq: number; sample: ShadowSample }[]>();
  let seq = 0;
  for (const [entity, spec] of Object.entries(opts.entities)) {
    const byRoute = new Map<string, RouteState>();
    for (const read of spec.reads) {
      const ignored = (read.ignore ?? []).map((r) => ({ path: r.path, reason: r.reason }));
      byRoute.set(read.route, {
        entity,
        route: read.route,
        handler: opts.handlers.get(entity)?.get(read.route),
        counts: Object.fromEntries(SHADOW_RESULTS.map((r) => [r, 0])) as Record<ShadowResult, number>,
        ignored,
        ignore: compileMatcher(ignored.map((r) => parsePattern(r.path))),
        noisy: new Map(),
        noisyMatch: compileMatcher([]),
        sightings: new Map(),
        probes: 0,
        lastError: null,
      });
    }
    routes.set(entity, byRoute);
    samples.set(entity, []);
  }

  let stopped = false;
  let inFlight = 0; // waiting for a quiet moment, or running
  // Half the cap may wait: under constant load the rest run as before, instead of being shed.
  const queue = createQuietQueue({
    activity: opts.activity ?? null,
    maxDeferMs: settings.maxDeferMs,
    maxWaiting: Math.ceil(settings.maxConcurrent / 2),
  });
  const tasks = new Set<Promise<void>>();
  const aborts = new Set<AbortController>();

  const record = (st: RouteState, result: ShadowResult) => {
    st.counts[result]++;
    opts.metrics.shadowComparisons.inc({ entity: st.entity, route: st.route, result });
    stats.shadow(st.entity, st.route, result);
  };

  const learnNoise = (st: RouteState, first: ComparedSide, second: ComparedSide): PatternSegment[][] => {
    const paths = noisePaths(first, second, st.ignore, MAX_NOISY) ?? [];
    const now: PatternSegment[][] = [];
    const seen = new Set<string>();
    for (const path of paths) {
      if (path.length === 0) continue; // the whole body: nothing left to compare, never learnt
      const pattern = generalise(path);
      const key = formatPath(pattern);
      if (seen.has(key)) continue;
      seen.add(key);
      now.push(pattern);
      const count = (st.sightings.get(key) ?? 0) + 1;
      if (count > 1 || st.sightings.size < MAX_SIGHTINGS) st.sightings.set(key, count);
      if (count >= NOISE_CONFIRMATIONS && !st.noisy.has(key) && st.noisy.size < MAX_NOISY) {
        st.noisy.set(key, pattern);
        st.noisyMatch = compileMatcher([...st.noisy.values()]);
        logger.info(
          { entity: st.entity, route: st.route, path: key },
          `shadow ${st.entity} ${st.route}: ${key} differs between two legacy reads; noisy, no longer compared`,
        );
      }
    }
    return now;
  };

  const askReadModel = (handler: ReadHandler, req: ReadRequest, parent: AbortSignal): Promise<ReadAnswer> => {
    const ac = new AbortController();
    const cancel = () => ac.abort(parent.reason);
    parent.addEventListener('abort', cancel, { once: true });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new Error(`the read model did not answer within ${settings.timeoutMs} ms (canary.shadow.timeoutMs)`);
        ac.abort(err);
        reject(err);
      }, settings.timeoutMs);
    });
    const asked = Promise.resolve().then(() => handler.handle(req, { db: opts.db, signal: ac.signal }));
    return Promise.race([asked, timeout]).finally(() => {
      clearTimeout(timer);
      parent.removeEventListener('abort', cancel);
    });
  };

  const secondRead = async (req: ReadRequest, signal: AbortSignal): Promise<ComparedSide | null> => {
    if (!opts.reread) return null;
    try {
      const answer = await opts.reread(req, signal);
      const body = await decodeBody(answer, settings.maxBodyBytes);
      return { status: answer.status, mediaType: mediaTypeOf(answer.headers['content-type']), body: legacyBody(body) };
    } catch (err) {
      logger.debug(
        { err: (err as Error).message },
        'shadow: second legacy read failed (no noise learnt from it; a difference is judged on the first answer)',
      );
      return null;
    }
  };

  const run = async (s: ShadowSubmission, st: RouteState, handler: ReadHandler, signal: AbortSignal): Promise<Outcome> => {
    if (signal.aborted) return { result: 'passed' }; // stopped while it waited
    let bytes: Buffer;
    try {
      bytes = await decodeBody(s.legacy, settings.maxBodyBytes);
    } catch (err) {
      if (err instanceof BodyTooLarge) return { result: 'shed' };
      throw err;
    }
    const legacy: ComparedSide = {
      status: s.legacy.status,
      mediaType: mediaTypeOf(s.legacy.headers['content-type']),
      body: legacyBody(bytes),
    };
    const probe = opts.reread !== null && (st.probes < NOISE_WARMUP || random() < settings.noiseSampleRate);
    if (probe) st.probes++;
    const ask = () =>
      askReadModel(handler, s.request, signal).then(
        (answer) => ({ answer }),
        (err: unknown) => ({ error: err instanceof Error ? err.message : String(err) }),
      );
    const [asked, second] = await Promise.all([ask(), probe ? secondRead(s.request, signal) : null]);
    const noiseNow = second ? learnNoise(st, legacy, second) : [];
    if ('error' in asked) return { result: 'error', message: asked.error };
    if (asked.answer.pass === true) return { result: 'passed' };
    const noisy = noiseNow.length > 0 ? compileMatcher([...st.noisy.values(), ...noiseNow]) : st.noisyMatch;
    const compare = (answer: ReadAnswer, control = legacy) =>
      compareSides(control, readModelSide(answer), { ignore: st.ignore, noisy, limit: MAX_DIFFS });
    const comparison = compare(asked.answer);
    if (comparison.result !== 'mismatch' || !s.fresh) return { result: comparison.result, comparison };
    // A mismatch counts only where the read model was not merely behind for this read. Asked
    // only now (one query per comparison saved on the common path, a match): could the read
    // model answer this read (the key's latest event applied)? If not, nothing is counted. If
    // so, take a second look: the read model asked again (its answer from before may predate
    // that point) and legacy read again (its answer from before may predate a write since),
    // and count what those two answers, both taken after that moment, compare to.
    if (!(await s.fresh().catch(() => false))) return { result: 'passed' };
    const [again, later] = await Promise.all([ask(), secondRead(s.request, signal)]);
    if ('error' in again) return { result: 'error', message: again.error };
    if (again.answer.pass === true) return { result: 'passed' };
    const confirmed = compare(again.answer, later ?? legacy);
    return { result: confirmed.result, comparison: confirmed };
  };

  const keep = (st: RouteState, s: ShadowSubmission, c: Comparison, n: number, at: Date) => {
    const list = samples.get(st.entity);
    if (!list) return;
    let i = 0;
    while (i < list.length && list[i]!.seq > n) i++;
    if (i >= settings.maxSamples) return;
    const sample: ShadowSample = {
      at: at.toISOString(),
      route: st.route,
      url: s.request.url,
      status: c.status,
      ...(c.mediaType ? { mediaType: c.mediaType } : {}),
      diffs: c.diffs,
      more: c.more,
    };
    list.splice(i, 0, { seq: n, sample });
    if (list.length > settings.maxSamples) list.length = settings.maxSamples;
  };

  const submit = (s: ShadowSubmission): void => {
    if (stopped) return;
    const st = routes.get(s.entity)?.get(s.route);
    const handler = st?.handler;
    if (!st || !handler) return;
    // 304/206 carry no whole body to compare (the client sent If-None-Match or Range).
    const comparable = s.legacy.status !== 304 && s.legacy.status !== 206;
    if (!comparable || s.legacy.body.length > settings.maxBodyBytes || inFlight >= settings.maxConcurrent) return record(st, 'shed');
    inFlight++;
    const n = ++seq;
    const at = now();
    const ac = new AbortController();
    aborts.add(ac);
    // Not one step of the comparison runs before the read path has moved on (quietQueue.ts).
    const task: Promise<void> = new Promise<Outcome>((resolve, reject) =>
      queue.run(() => run(s, st, handler, ac.signal).then(resolve, reject)),
    )
      .then(
        (outcome) => {
          if (stopped || outcome.result === 'passed') return;
          record(st, outcome.result);
          if (outcome.result === 'error') {
            st.lastError = { at: now().toISOString(), message: outcome.message ?? 'error' };
            logger.debug({ entity: st.entity, route: st.route, err: outcome.message }, 'shadow: the read model failed');
          } else if (outcome.result === 'mismatch' && 'comparison' in outcome) keep(st, s, outcome.comparison, n, at);
        },
        (err: unknown) => {
          if (stopped) return;
          const message = err instanceof Error ? err.message : String(err);
          record(st, 'error');
          st.lastError = { at: now().toISOString(), message };
          logger.warn({ entity: st.entity, route: st.route, err: message }, 'shadow comparison failed');
        },
      )
      .finally(() => {
        inFlight--;
        aborts.delete(ac);
        tasks.delete(task);
      });
    tasks.add(task);
  };

  const wanted = (entity: string, route: string, stage: Stage): boolean => {
    if (stopped || !comparesReads(stage)) return false;
    if (!routes.get(entity)?.get(route)?.handler) return false;
    return stage === 'shadow' || random() < settings.sampleRate;
  };

  const summarise = (entity: string): EntitySummary | undefined => {
    const byRoute = routes.get(entity);
    if (!byRoute) return undefined;
    const out: Record<string, RouteSummary> = {};
    for (const st of byRoute.values()) {
      const done = st.counts.match + st.counts.mismatch + st.counts.noisy;
      out[st.route] = {
        handled: st.handler !== undefined,
        ...st.counts,
        mismatchRate: done === 0 ? null : st.counts.mismatch / done,
        noisyPaths: [...st.noisy.keys()],
        ignored: st.ignored,
        lastError: st.lastError,
      };
    }
    return { routes: out, samples: (samples.get(entity) ?? []).map((x) => x.sample) };
  };

  function summary(): Record<string, EntitySummary>;
  function summary(entity: string): EntitySummary | undefined;
  function summary(entity?: string): Record<string, EntitySummary> | EntitySummary | undefined {
    if (entity !== undefined) return summarise(entity);
    return Object.fromEntries([...routes.keys()].map((e) => [e, summarise(e)!]));
  }

  return {
    wanted,
    submit,
    summary,
    async idle() {
      while (tasks.size > 0) await Promise.allSettled([...tasks]);
    },
    async stop() {
      stopped = true;
      for (const ac of aborts) ac.abort(new Error('the sidecar is stopping'));
      queue.flush(); // the waiting ones see their abort and end at once
      await Promise.allSettled([...tasks]);
    },
  };
}
