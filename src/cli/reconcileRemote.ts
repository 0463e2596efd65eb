import type { ReconcileReport } from '../reconcile/report/types.ts';
import type { RepairSummary } from '../reconcile/repair/repairSummary.ts';
import type { RunSummary } from '../reconcile/store/runs.ts';
import { StranglerError } from '../errors/StranglerError.ts';
import { AdminApiError, type AdminClient } from './adminClient.ts';
import type { EntityOutcome } from './reconcileFormat.ts';
import type { ReconcileArgs } from './reconcile.ts';

export interface RemoteOptions {
  client: AdminClient;
  /** Progress lines (sparse: at most one per entity every progressEveryMs). */
  progress: (line: string) => void;
  pollMs?: number;
  progressEveryMs?: number;
  /** A running run whose heartbeat is older than this stopped making progress (its sidecar went away). */
  staleMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

interface Started {
  runs: { runId: number; entity: string }[];
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * `strangler reconcile` against a running sidecar's admin API: starts a run
 * (POST /admin/reconciliations), waits for every run it started (GET /admin/reconciliations/ID),
 * and with --repair repairs from each (POST /admin/reconciliations/ID/repair).
 */
export async function reconcileRemote(args: ReconcileArgs, opts: RemoteOptions, emit: (o: EntityOutcome) => void): Promise<void> {
  const { client } = opts;
  const repair = async (o: EntityOutcome): Promise<EntityOutcome> => {
    if (!args.repair || o.error !== null || o.runId === null) return o;
    try {
      o.repair = await client.request<RepairSummary>('POST', `/admin/reconciliations/${o.runId}/repair`, { apply: args.apply });
    } catch (err) {
      o.error = `repair failed: ${message(err)}`;
    }
    return o;
  };

  if (args.runs.length) {
    for (const runId of args.runs) {
      const got = await client.send<RunSummary>('GET', `/admin/reconciliations/${runId}`);
      if (got.status === 404) {
        emit({
          entity: args.entity ?? '?',
          runId,
          report: null,
          error: `no reconciliation run ${runId}; \`strangler reconcile\` makes one`,
        });
        continue;
      }
      const run = got.status === 200 ? got.body : await client.request<RunSummary>('GET', `/admin/reconciliations/${runId}`);
      if (args.entity !== undefined && run.entity !== args.entity)
        throw new StranglerError(
          'usage',
          `Run ${runId} reconciled ${run.entity}, not ${args.entity}; leave out --entity or give a run of ${args.entity}.`,
          {
            status: 400,
          },
        );
      emit(await repair(toOutcome(run)));
    }
    return;
  }
  const body = args.entity !== undefined ? { entity: args.entity } : {};
  const started = await client.request<Started>('POST', '/admin/reconciliations', body).catch((err: unknown) => {
    // No reconciliation routes on that sidecar: its admin server answers 404 (or 405 to a POST).
    if (!(err instanceof AdminApiError && (err.httpStatus === 404 || err.httpStatus === 405))) throw err;
    throw new StranglerError(
      'reconciliation_off',
      `The sidecar at ${client.url} has reconciliation off (it needs legacy.database.url and at least one entity); ` +
        'set it and restart the sidecar, or reconcile offline with --config FILE.',
      { status: 404 },
    );
  });
  opts.progress(`started ${started.runs.map((r) => `run ${r.runId} (${r.entity})`).join(', ')} on ${client.url}`);
  for (const r of started.runs) emit(await repair(await waitFor(r.runId, r.entity, opts)));
}

/** Polls one run until it is no longer queued or running. */
async function waitFor(runId: number, entity: string, opts: RemoteOptions): Promise<EntityOutcome> {
  const sleep = opts.sleep ?? defaultSleep;
  const everyMs = opts.progressEveryMs ?? 5000;
  let lastProgress = Date.now();
  for (;;) {
    const run = await opts.client.request<RunSummary>('GET', `/admin/reconciliations/${runId}`);
    if (run.status !== 'queued' && run.status !== 'running') return toOutcome(run);
    const age = run.progress?.heartbeatAgeMs ?? null;
    if (age !== null && age > (opts.staleMs ?? 90_000))
      return {
        entity,
        runId,
        report: null,
        error:
          run.status === 'running'
            ? `run ${runId} stopped making progress ${Math.round(age / 1000)} s ago (its sidecar stopped?); the next run of ${entity} resumes it`
            : `run ${runId} was queued ${Math.round(age / 1000)} s ago and never started (its sidecar stopped?); start another`,
      };
    if (Date.now() - lastProgress >= everyMs) {
      lastProgress = Date.now();
      opts.progress(
        run.status === 'queued'
          ? `${entity}: run ${runId} queued (waiting for the entities before it)`
          : `${entity}: run ${runId} running, ${run.progress.chunks} chunk(s), ${run.progress.legacyRows} legacy rows so far`,
      );
    }
    await sleep(opts.pollMs ?? 500);
  }
}

function toOutcome(run: RunSummary): EntityOutcome {
  const report: ReconcileReport | null = run.report;
  if (run.status === 'finished' && report) return { entity: run.entity, runId: run.runId, report, error: null };
  const why =
    run.status === 'skipped' ? `not run: ${run.error ?? 'skipped'}` : `run ${run.runId} ${run.status}: ${run.error ?? 'no error recorded'}`;
  return { entity: run.entity, runId: run.runId, report: null, error: why };
}
