import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_CONFIG_FILE, loadConfig } from '../config/index.ts';
import { connect } from '../db/connect.ts';
import { StranglerError } from '../errors/StranglerError.ts';
import { openEventStore } from '../eventstore/index.ts';
import { createLogger } from '../logging/logger.ts';
import { loadProjections } from '../projections/registry.ts';
import { createReconciler, type EntityResult } from '../reconcile/reconciler.ts';
import { repairRun, type RepairResult } from '../reconcile/repair/repair.ts';
import { pct } from '../reconcile/report/html.ts';
import type { ReconcileReport } from '../reconcile/report/types.ts';
import { getRun } from '../reconcile/store/runs.ts';
import type { CliIo } from './main.ts';

export const RECONCILE_USAGE = `  strangler reconcile [--config FILE] [--entity E] [--json]
                                         compare legacy tables with the read models now; exit 0 within tolerance, 1 not, 2 error
  strangler reconcile --repair [--apply] [--run ID] [--entity E]
                                         corrective events for the differences (dry run unless --apply), from a new run or run ID`;

const usage = (message: string) => new StranglerError('usage', `${message}\n\n${RECONCILE_USAGE}`, { status: 400 });

/**
 * `strangler reconcile`: runs reconciliation in the foreground, prints the report, and with
 * `--repair` lists (or with `--apply` appends) the corrective events. Exit codes: 0 every
 * entity within tolerance (or, with --apply, every repair appended), 1 not, 2 error.
 */
export async function runReconcileCommand(args: string[], io: CliIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        config: { type: 'string', short: 'c' },
        entity: { type: 'string' },
        json: { type: 'boolean', default: false },
        repair: { type: 'boolean', default: false },
        apply: { type: 'boolean', default: false },
        run: { type: 'string' },
      },
    }));
  } catch (err) {
    io.err(`${(err as Error).message}\n\n${RECONCILE_USAGE}`);
    return 2;
  }
  try {
    if (values.apply && !values.repair) throw usage('--apply goes with --repair (example: strangler reconcile --repair --apply).');
    if (values.run !== undefined && !values.repair) throw usage('--run picks the run to repair from; it goes with --repair.');
    if (values.run !== undefined && !/^[1-9]\d*$/.test(values.run))
      throw usage(`--run takes a run id (a positive integer), got "${values.run}".`);
    const config = loadConfig({ file: values.config ?? DEFAULT_CONFIG_FILE, env: io.env, requireUpstream: false });
    if (values.entity !== undefined && !config.entities[values.entity])
      throw usage(`No entity "${values.entity}" in the spec; known: ${Object.keys(config.entities).join(', ') || '(none)'}.`);
    const legacyUrl = config.legacy.database.url;
    if (legacyUrl === null) throw usage('Reconciliation reads the legacy database: set legacy.database.url (or STRANGLER_LEGACY_DB_URL).');
    const logger = createLogger({ level: io.env.LOG_LEVEL ?? 'warn' });
    const store = await openEventStore({
      url: config.eventStore.url,
      migrate: config.eventStore.migrateOnStart,
      embeddedDir: path.resolve('data/eventstore'),
      poolSize: 4,
    });
    const legacy = await connect({ url: legacyUrl, max: 4 });
    try {
      const projections = await loadProjections(config.entities);
      const reconciler = createReconciler({ config, legacy, store: store.db, projections, logger });
      const entities = values.entity ? [values.entity] : reconciler.entities();
      let code = 0;
      const out: unknown[] = [];
      for (const entity of entities) {
        let report: ReconcileReport | null = null;
        let runId: number;
        if (values.run !== undefined) {
          runId = Number(values.run);
        } else {
          const [result] = await reconciler.run({ entity, trigger: 'cli' });
          const r = settle(result!);
          if (r.code === 2) {
            io.err(`${entity}: ${r.message}`);
            return 2;
          }
          code = Math.max(code, r.code);
          report = r.report;
          if (!report) {
            io.out(`${entity}: ${r.message}`);
            continue;
          }
          runId = report.runId;
          if (!values.json) for (const line of formatReport(report)) io.out(line);
        }
        let repair: RepairResult | null = null;
        if (values.repair) {
          const run = await getRun(store.db, runId);
          if (!run || run.entity !== entity)
            throw usage(`No reconciliation run ${runId} of ${entity}; \`strangler reconcile --entity ${entity}\` makes one.`);
          repair = await repairRun({ plan: await reconciler.plan(entity), run, legacy, store: store.db, apply: values.apply, logger });
          if (!values.json) for (const line of formatRepair(repair)) io.out(line);
          if (values.apply)
            code = repair.counts.changed_meanwhile + repair.counts.not_repairable > 0 ? 1 : values.run !== undefined ? 0 : code;
        }
        out.push({ entity, report, repair });
      }
      if (values.json) io.out(JSON.stringify(entities.length === 1 ? out[0] : out, null, 2));
      return code;
    } finally {
      await legacy.close();
      await store.close();
    }
  } catch (err) {
    io.err(err instanceof Error ? err.message : String(err));
    return 2;
  }
}

function settle(result: EntityResult): { code: 0 | 1 | 2; report: ReconcileReport | null; message: string } {
  if ('error' in result) return { code: 2, report: null, message: result.error.message };
  if (result.outcome.kind === 'skipped') return { code: 2, report: null, message: `not run: ${result.outcome.reason}` };
  const report = result.outcome.report;
  return { code: report.verdict === 'within_tolerance' ? 0 : 1, report, message: report.verdict };
}

export function formatReport(r: ReconcileReport): string[] {
  const lines = [
    `${r.entity}: run ${r.runId}, ${r.verdict === 'within_tolerance' ? 'WITHIN TOLERANCE' : 'OVER TOLERANCE'}: mismatch rate ${pct(r.mismatchRate)} (tolerance ${pct(r.tolerance)})`,
    `  rows: legacy ${r.legacyRows}, read model ${r.readModelRows}, matched ${r.matched}`,
    `  missing in projection ${r.missingInProjection}, extra in projection ${r.extraInProjection}, differing ${r.differing}` +
      (Object.keys(r.differingColumns).length
        ? ` (${Object.entries(r.differingColumns)
            .map(([c, n]) => `${c}: ${n}`)
            .join(', ')})`
        : '') +
      `, pending ${r.pending}, resolved on re-check ${r.resolvedOnRecheck}`,
    `  ${(r.durationMs / 1000).toFixed(1)} s, ${r.rowsPerSecond} rows/s, ${r.chunks} chunks (${r.prefilteredChunks} equal by in-database checksum; prefilter ${r.prefilter.enabled ? 'on' : 'off'}: ${r.prefilter.reason})`,
    `  table sha256: legacy ${r.tableSha256.legacy}, read model ${r.tableSha256.readModel}`,
  ];
  if (r.trend) lines.push(`  trend: run ${r.trend.previousRunId} had ${pct(r.trend.previousMismatchRate)}`);
  for (const c of r.skippedChunks)
    lines.push(`  skipped chunk after ${JSON.stringify(c.after)} up to ${JSON.stringify(c.upTo)}: ${c.reason}`);
  for (const s of r.samples) {
    lines.push(`  ${s.class} ${s.key.join(', ')}${s.columns.length ? ` [${s.columns.join(', ')}]` : ''}`);
    for (const c of s.columns)
      lines.push(`      ${c}: legacy ${JSON.stringify(s.legacy?.[c] ?? null)}, read model ${JSON.stringify(s.readModel?.[c] ?? null)}`);
  }
  return lines;
}

function formatRepair(r: RepairResult): string[] {
  const head = r.apply
    ? `repair of run ${r.runId} (${r.entity}): ${r.counts.appended} event(s) appended, ${r.counts.already_appended} already appended before, ${r.counts.changed_meanwhile} stood down (stream moved on), ${r.counts.not_repairable} not repairable`
    : `repair of run ${r.runId} (${r.entity}), DRY RUN: ${r.counts.planned} corrective event(s) would be appended${r.counts.not_repairable ? `, ${r.counts.not_repairable} row(s) not repairable` : ''}; add --apply to append them`;
  return [
    head,
    ...r.actions.slice(0, 50).map((a) => `  ${a.outcome} ${a.event} on ${a.streamId} (${a.class})${a.detail ? `: ${a.detail}` : ''}`),
    ...(r.actions.length > 50 ? [`  … ${r.actions.length - 50} more`] : []),
  ];
}
