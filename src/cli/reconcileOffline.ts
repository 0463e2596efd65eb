import path from 'node:path';
import { loadConfig } from '../config/index.ts';
import { connect } from '../db/connect.ts';
import { StranglerError } from '../errors/StranglerError.ts';
import { openEventStore } from '../eventstore/index.ts';
import { createLogger } from '../logging/logger.ts';
import { loadProjections } from '../projections/registry.ts';
import { createReconciler, type EntityResult, type Reconciler } from '../reconcile/reconciler.ts';
import { repairRun } from '../reconcile/repair/repair.ts';
import { summarizeRepair, type RepairSummary } from '../reconcile/repair/repairSummary.ts';
import { getRun } from '../reconcile/store/runs.ts';
import type { Executor } from '../db/executor.ts';
import type { EntityOutcome } from './reconcileFormat.ts';
import type { ReconcileArgs } from './reconcile.ts';
import type { CliIo } from './main.ts';

/**
 * `strangler reconcile --config FILE`: offline, straight against the legacy database and the
 * event store the file names (no sidecar needed; e.g. with the sidecar stopped). Each entity
 * is settled on its own: one entity's error does not stop the others.
 */
export async function reconcileOffline(
  args: ReconcileArgs,
  configFile: string,
  io: CliIo,
  emit: (o: EntityOutcome) => void,
): Promise<void> {
  const config = loadConfig({ file: configFile, env: io.env, requireUpstream: false });
  if (args.entity !== undefined && !config.entities[args.entity])
    throw usageError(`No entity "${args.entity}" in the spec; known: ${Object.keys(config.entities).join(', ') || '(none)'}.`);
  const legacyUrl = config.legacy.database.url;
  if (legacyUrl === null)
    throw usageError('Reconciliation reads the legacy database: set legacy.database.url (or STRANGLER_LEGACY_DB_URL).');
  const logger = createLogger({ level: io.env.LOG_LEVEL ?? 'warn' });
  const store = await openEventStore({
    url: config.eventStore.url,
    migrate: config.eventStore.migrateOnStart,
    embeddedDir: path.resolve('data/eventstore'),
    poolSize: 4,
  });
  try {
    const legacy = await connect({ url: legacyUrl, max: 4 });
    try {
      const projections = await loadProjections(config.entities);
      const reconciler = createReconciler({ config, legacy, store: store.db, projections, logger });
      const repair = async (runId: number, entity: string): Promise<RepairSummary> => {
        const run = await getRun(store.db, runId);
        if (!run || run.entity !== entity) throw new Error(`no reconciliation run ${runId} of ${entity}`);
        return summarizeRepair(
          await repairRun({ plan: await reconciler.plan(run.entity), run, legacy, store: store.db, apply: args.apply, logger }),
        );
      };
      if (args.runs.length) {
        for (const runId of args.runs) emit(await fromRun(store.db, runId, args, repair));
        return;
      }
      for (const entity of args.entity !== undefined ? [args.entity] : reconciler.entities()) {
        const outcome = await runOne(reconciler, entity);
        if (args.repair && outcome.runId !== null && outcome.error === null)
          outcome.repair = await repair(outcome.runId, entity).catch(asError(outcome));
        emit(outcome);
      }
    } finally {
      await legacy.close();
    }
  } finally {
    await store.close();
  }
}

const usageError = (message: string) => new StranglerError('usage', message, { status: 400 });

/** Records a repair's error on the outcome (the entity's verdict stands, the repair did not happen). */
const asError = (o: EntityOutcome) => (err: unknown) => {
  o.error = `repair failed: ${err instanceof Error ? err.message : String(err)}`;
  return null;
};

async function runOne(reconciler: Reconciler, entity: string): Promise<EntityOutcome> {
  const [result] = await reconciler.run({ entity, trigger: 'cli' });
  return settle(entity, result);
}

export function settle(entity: string, result: EntityResult | undefined): EntityOutcome {
  if (!result) return { entity, runId: null, report: null, error: 'not run (stopped)' };
  if ('error' in result) return { entity, runId: null, report: null, error: result.error.message };
  if (result.outcome.kind === 'skipped') return { entity, runId: null, report: null, error: `not run: ${result.outcome.reason}` };
  return { entity, runId: result.outcome.report.runId, report: result.outcome.report, error: null };
}

/** `--repair --run ID`: the entity is the one that run covered. */
async function fromRun(
  store: Executor,
  runId: number,
  args: ReconcileArgs,
  repair: (runId: number, entity: string) => Promise<RepairSummary>,
): Promise<EntityOutcome> {
  const run = await getRun(store, runId);
  if (!run)
    return { entity: args.entity ?? '?', runId, report: null, error: `no reconciliation run ${runId}; \`strangler reconcile\` makes one` };
  if (args.entity !== undefined && run.entity !== args.entity)
    throw usageError(`Run ${runId} reconciled ${run.entity}, not ${args.entity}; leave out --entity or give a run of ${args.entity}.`);
  const outcome: EntityOutcome = { entity: run.entity, runId, report: run.report, error: null };
  if (run.status !== 'finished') {
    outcome.error = `run ${runId} is ${run.status}${run.error ? ` (${run.error})` : ''}; repair works from a finished run`;
    return outcome;
  }
  outcome.repair = await repair(runId, run.entity).catch(asError(outcome));
  return outcome;
}
