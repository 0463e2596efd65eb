import type { ReconciliationConfig } from '../../config/schema.ts';
import type { Executor } from '../../db/executor.ts';
import type { Logger } from '../../logging/logger.ts';
import { ENCODING_VERSION, MOD64, PrefixSum } from '../encoding/rowEncoding.ts';
import type { ReconcileReport } from '../report/types.ts';
import { claimRun, failRun, finishRun, recordChunk, type DiffRow, type RunRow, type SkippedChunk } from '../store/runs.ts';
import type { EntityPlan } from './entityPlan.ts';
import { createLegacyReader, isStatementTimeout, type LegacyReader } from './legacyLimits.ts';
import { diffOf, hashRows } from './hashedRows.ts';
import { mergeRows } from './merge.ts';
import { recheck } from './recheck.ts';
import { buildReport } from '../report/buildReport.ts';
import { boundaryQuery, rangeQuery } from './sideSql.ts';
import type { Prefilter } from './prefilter.ts';
import { createNarrower, type Narrower } from '../prefilter/narrow.ts';
import { createKeyedWalk, type KeyedWalk } from './keyedWalk.ts';

export type RunSettings = Pick<
  ReconciliationConfig,
  | 'chunkSize'
  | 'targetChunkMs'
  | 'maxRowsPerSecond'
  | 'statementTimeoutMs'
  | 'pauseWhenThreadsRunning'
  | 'graceMs'
  | 'maxSamples'
  | 'toleranceDriftPercent'
  | 'maxPendingLagMs'
>;

export interface RunOptions {
  plan: EntityPlan;
  legacy: Executor;
  /** The event store database: read model, projection checkpoints, events, reports. */
  store: Executor;
  settings: RunSettings;
  owner: string;
  trigger: string;
  /** The row recorded when the admin API accepted the run (store/runQueue.ts). */
  queuedRunId?: number;
  logger?: Logger;
  /** The legacy database under its load limits; made from `legacy` when absent. */
  reader?: LegacyReader;
  /** In-database chunk checksums, when the self-test passed (see prefilter.ts). */
  prefilter?: Prefilter | null;
  prefilterStatus?: { enabled: boolean; reason: string };
  /** A run whose owner has not renewed it for this long is taken over and resumed. */
  staleMs?: number;
  /** Longest pause for a busy legacy database before the chunk is skipped (default 60 s). */
  busyWaitMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Stops the run between chunks; the run stays `running` and the next start resumes it after staleMs. */
  signal?: AbortSignal;
  /** Test hook: called after each recorded chunk (a crash test stops the run there). */
  afterChunk?: (chunks: number) => void | Promise<void>;
}

export type RunOutcome = { kind: 'finished'; report: ReconcileReport } | { kind: 'skipped'; reason: string; runId: number };

const MIN_CHUNK = 50;
const BUSY_WAIT_MS = 60_000;

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * One reconciliation run of one entity: walks the legacy table in key-range chunks (keyset
 * pagination, chunk size adapted to a target time), reads the same range of the read model,
 * merge-joins (key, row hash) from both, stores differences, then re-checks each difference
 * once after the grace window (pending = its latest event is not projected yet).
 */
export async function runReconciliation(opts: RunOptions): Promise<RunOutcome> {
  const { plan, store, settings, owner } = opts;
  const sleep = opts.sleep ?? defaultSleep;
  const claim = await claimRun(store, {
    entity: plan.entity,
    owner,
    trigger: opts.trigger,
    configHash: plan.configHash,
    encodingVersion: ENCODING_VERSION,
    staleMs: opts.staleMs ?? 60_000,
    ...(opts.queuedRunId !== undefined ? { queuedRunId: opts.queuedRunId } : {}),
  });
  if (claim.kind === 'busy') {
    return {
      kind: 'skipped',
      runId: claim.run.runId,
      reason: `run ${claim.run.runId} of ${plan.entity} is in progress (owner ${claim.run.owner}, started ${claim.run.startedAt})`,
    };
  }
  const run = claim.run;
  opts.logger?.info(
    { entity: plan.entity, runId: run.runId, resumed: claim.kind === 'resumed', cursor: run.cursor },
    'reconciliation started',
  );
  try {
    const reader = opts.reader ?? (await createLegacyReader(opts.legacy, settings.statementTimeoutMs));
    const wallStart = Date.now();
    const note = await walkChunks(opts, reader, run, sleep);
    await recheck(opts, run.runId, sleep);
    const report = await buildReport(opts, run.runId, claim.kind === 'resumed', wallStart, note);
    if (!(await finishRun(store, run.runId, owner, report)))
      throw new Error(`run ${run.runId} was taken over by another replica before it finished`);
    opts.logger?.info(
      { entity: plan.entity, runId: run.runId, mismatchRate: report.mismatchRate, verdict: report.verdict },
      'reconciliation finished',
    );
    return { kind: 'finished', report };
  } catch (err) {
    if (opts.signal?.aborted) {
      opts.logger?.info({ entity: plan.entity, runId: run.runId }, 'reconciliation stopped between chunks; the next run resumes it');
      throw err;
    }
    await failRun(store, run.runId, owner, err instanceof Error ? err.message : String(err)).catch(() => {});
    throw err;
  }
}

// Rows hashed in TypeScript per chunk at most (memory: both sides' canonical values are held);
// a prefiltered chunk moves no rows unless it differs, so it may be larger.
const MAX_TS_CHUNK = 5_000;
const MAX_PREFILTER_CHUNK = 25_000;

/** Walks the chunks; returns a note when differing chunks were narrowed in the databases. */
async function walkChunks(
  opts: RunOptions,
  reader: LegacyReader,
  run: RunRow,
  sleep: (ms: number) => Promise<void>,
): Promise<string | null> {
  const { plan, store, settings } = opts;
  // A key under a non-binary legacy collation is walked in the legacy's order (keyedWalk.ts).
  const keyed =
    plan.keyWalk.by === 'legacy'
      ? createKeyedWalk({
          plan,
          reader,
          store,
          prefilter: opts.prefilter ?? null,
          readAhead: settings.maxRowsPerSecond === 0 && settings.pauseWhenThreadsRunning === 0,
        })
      : null;
  const narrower = opts.prefilter && !keyed ? createNarrower({ plan, prefilter: opts.prefilter, reader, store }) : null;
  const maxChunk = () => (opts.prefilter ? MAX_PREFILTER_CHUNK : MAX_TS_CHUNK);
  let after: unknown[] | null = run.cursor;
  let size = Math.min(maxChunk(), Math.max(MIN_CHUNK, run.chunkSize ?? settings.chunkSize));
  let chunks = run.chunks;
  for (;;) {
    const t0 = performance.now();
    let skipped: SkippedChunk | null = null;
    if (settings.pauseWhenThreadsRunning > 0) skipped = await waitWhileBusy(opts, reader, after, size, sleep);

    let upTo: unknown[] | null = null;
    let last = false;
    let prefiltered = false;
    const sums = { legacy: 0n, readModel: 0n };
    const counts = { legacy: 0, readModel: 0, matched: 0 };
    const diffs: DiffRow[] = [];
    if (!skipped) {
      try {
        if (keyed) {
          const c = await keyed.chunk(after, size);
          ({ upTo, last, prefiltered } = c);
          Object.assign(counts, c.counts);
          Object.assign(sums, c.sums);
          diffs.push(...c.diffs);
        } else if (narrower) {
          // Checksums over the same key range on both sides; a differing range is narrowed in
          // the databases and only the rows of its differing pieces cross the wire (narrow.ts).
          const bound = await reader.query<unknown[]>(...spread(boundaryQuery(plan.legacy, after, size - 1)));
          upTo = bound.rows[0] ? bound.rows[0] : null;
          last = upTo === null;
          const c = await narrower.chunk(after, upTo, size);
          prefiltered = c.equal;
          Object.assign(counts, { legacy: c.legacy.count, readModel: c.readModel.count, matched: c.matched });
          sums.legacy = c.legacy.sum;
          sums.readModel = c.readModel.sum;
          diffs.push(...c.diffs);
        } else {
          const rows = (await reader.query<unknown[]>(...spread(rangeQuery(plan.legacy, after, null, size)))).rows;
          last = rows.length < size;
          upTo = last ? null : rows[rows.length - 1]!.slice(0, plan.keyKinds.length);
          await compareRows(opts, rows, after, upTo, size, counts, sums, diffs);
        }
      } catch (err) {
        if (!isStatementTimeout(err)) throw err;
        if (size > MIN_CHUNK) {
          size = Math.max(MIN_CHUNK, Math.floor(size / 2));
          opts.logger?.warn({ entity: plan.entity, size }, 'legacy chunk hit the statement timeout; retrying smaller');
          continue;
        }
        skipped = await skipChunk(opts, reader, after, size, `statement timeout (${settings.statementTimeoutMs} ms) at ${MIN_CHUNK} rows`);
      }
    }
    if (skipped) {
      upTo = skipped.upTo;
      last = upTo === null;
    }
    const elapsed = performance.now() - t0;
    const recorded = await recordChunk(store, run.runId, opts.owner, {
      cursor: upTo,
      chunkSize: size,
      legacyRows: counts.legacy,
      readModelRows: counts.readModel,
      matched: counts.matched,
      legacySum: sums.legacy,
      readModelSum: sums.readModel,
      prefiltered,
      skipped,
      activeMs: elapsed,
      diffs,
    });
    if (!recorded) throw new Error(`run ${run.runId} was taken over by another replica (its heartbeat went stale)`);
    chunks++;
    await opts.afterChunk?.(chunks);
    if (last) return keyed ? keyedExtras(opts, keyed, run.runId, size) : narrowNote(narrower);
    opts.signal?.throwIfAborted();
    after = upTo;
    // Adapt toward the target time per chunk, by at most ×2 / ÷2 a step.
    if (!skipped && elapsed > 0)
      size = Math.round(Math.min(maxChunk(), Math.max(MIN_CHUNK, size * Math.min(2, Math.max(0.5, settings.targetChunkMs / elapsed)))));
    size = Math.min(size, maxChunk());
    if (settings.maxRowsPerSecond > 0) {
      const minMs = (counts.legacy / settings.maxRowsPerSecond) * 1000;
      if (minMs > elapsed) await sleep(minMs - elapsed);
    }
  }
}

/** Merge-joins legacy rows in (from, to] with the read model's rows of that range, adding to the chunk's figures. */
async function compareRows(
  opts: RunOptions,
  legacyRows: unknown[][],
  from: unknown[] | null,
  to: unknown[] | null,
  size: number,
  counts: { legacy: number; readModel: number; matched: number },
  sums: { legacy: bigint; readModel: bigint },
  diffs: DiffRow[],
): Promise<void> {
  const { plan } = opts;
  const l = hashRows(plan, legacyRows);
  const r = hashRows(plan, await readModelRange(opts, from, to, size));
  counts.legacy += l.length;
  counts.readModel += r.length;
  const ls = new PrefixSum();
  const rs = new PrefixSum();
  for (const row of l) ls.add(row.hash);
  for (const row of r) rs.add(row.hash);
  sums.legacy = (sums.legacy + ls.value()) % MOD64;
  sums.readModel = (sums.readModel + rs.value()) % MOD64;
  mergeRows(plan.columns, plan.keyKinds, l, r, (o) => {
    if (o.kind === 'matched') counts.matched++;
    else diffs.push(diffOf(plan, o));
  });
}

/** After the keyed walk's last chunk: the read-model rows no chunk found, recorded as one more chunk. */
async function keyedExtras(opts: RunOptions, keyed: KeyedWalk, runId: number, size: number): Promise<string> {
  const { plan, store } = opts;
  const t0 = performance.now();
  const { rows } = await store.query<{ n: string }>('SELECT read_model_rows::text AS n FROM strangler_reconcile_runs WHERE run_id = $1', [
    runId,
  ]);
  const x = await keyed.extras(Number(rows[0]?.n ?? 0));
  if (x) {
    const progress = { cursor: null, chunkSize: size, legacyRows: 0, readModelRows: x.rows, matched: 0, legacySum: 0n };
    const extra = { readModelSum: x.sum, prefiltered: false, skipped: null, activeMs: performance.now() - t0, diffs: x.diffs };
    if (!(await recordChunk(store, runId, opts.owner, { ...progress, ...extra })))
      throw new Error(`run ${runId} was taken over by another replica (its heartbeat went stale)`);
  }
  const walk = plan.keyWalk.by === 'legacy' ? plan.keyWalk.collation : null;
  return `key walked in the legacy collation ${walk}, read-model rows fetched by key${x ? `; ${x.rows} read-model row(s) found by no chunk` : ''}`;
}

function narrowNote(narrower: Narrower | null): string | null {
  const s = narrower?.stats();
  return s?.narrowedChunks
    ? `${s.narrowedChunks} differing chunk(s) narrowed in the databases; ${s.rowsCompared} rows of their differing pieces compared row by row`
    : null;
}

const spread = (q: { sql: string; params: unknown[] }) => [q.sql, q.params] as const;

/** The read model's rows in (after, upTo], a page at a time (a range may hold many extra rows). */
async function readModelRange(opts: RunOptions, after: unknown[] | null, upTo: unknown[] | null, size: number): Promise<unknown[][]> {
  const out: unknown[][] = [];
  const page = Math.max(size * 2, 1000);
  let from = after;
  for (;;) {
    const q = rangeQuery(opts.plan.readModel, from, upTo, page);
    const { rows } = await opts.store.query<unknown[]>(q.sql, q.params, { arrays: true });
    for (const r of rows) out.push(r);
    if (rows.length < page) return out;
    from = rows[rows.length - 1]!.slice(0, opts.plan.keyKinds.length);
  }
}

async function skipChunk(
  opts: RunOptions,
  reader: LegacyReader,
  after: unknown[] | null,
  size: number,
  reason: string,
): Promise<SkippedChunk> {
  const bound = await reader.query<unknown[]>(...spread(boundaryQuery(opts.plan.legacy, after, size - 1)));
  const upTo = bound.rows[0] ? bound.rows[0] : null;
  opts.logger?.warn({ entity: opts.plan.entity, after, upTo, reason }, 'reconciliation skipped a chunk');
  return { after, upTo, reason };
}

async function waitWhileBusy(
  opts: RunOptions,
  reader: LegacyReader,
  after: unknown[] | null,
  size: number,
  sleep: (ms: number) => Promise<void>,
): Promise<SkippedChunk | null> {
  const limit = opts.settings.pauseWhenThreadsRunning;
  const started = Date.now();
  let running = await reader.busy();
  while (running > limit) {
    const waitMs = opts.busyWaitMs ?? BUSY_WAIT_MS;
    if (Date.now() - started >= waitMs) {
      return skipChunk(
        opts,
        reader,
        after,
        size,
        `legacy database busy: ${running} statements running (pauseWhenThreadsRunning ${limit}) for ${waitMs / 1000} s`,
      );
    }
    await sleep(1000);
    running = await reader.busy();
  }
  return null;
}
