import { durationText, pct } from '../reconcile/report/html.ts';
import type { ReconcileReport } from '../reconcile/report/types.ts';
import type { RepairSummary } from '../reconcile/repair/repairSummary.ts';

/**
 * Exit codes of `strangler reconcile` (documented in its usage): per entity 0 within
 * tolerance, 1 over tolerance, 2 error, 3 inconclusive; with --repair 0 when every planned
 * event was appended or already there (or the dry run listed them), 1 when some stood down,
 * 2 error. Several entities: the worst, in the order 2 > 1 > 3 > 0: an error says nothing
 * about the data, drift over tolerance is a finding, inconclusive is the absence of one.
 */
export const EXIT = { within: 0, over: 1, error: 2, inconclusive: 3 } as const;
const RANK: Record<number, number> = { 0: 0, 3: 1, 1: 2, 2: 3 };

export function worstExit(codes: readonly number[]): number {
  return codes.reduce((w, c) => ((RANK[c] ?? 3) > (RANK[w] ?? 3) ? c : w), 0);
}

export function verdictExit(r: ReconcileReport): number {
  return r.verdict === 'within_tolerance' ? EXIT.within : r.verdict === 'inconclusive' ? EXIT.inconclusive : EXIT.over;
}

export const repairExit = (r: RepairSummary): number => (r.complete ? 0 : 1);

/** What one entity came to: a report, an error, and with --repair the repair. */
export interface EntityOutcome {
  entity: string;
  runId: number | null;
  report: ReconcileReport | null;
  error: string | null;
  repair?: RepairSummary | null;
}

export function outcomeExit(o: EntityOutcome, repairing: boolean): number {
  if (o.error !== null) return EXIT.error;
  if (repairing) return o.repair ? repairExit(o.repair) : EXIT.error;
  return o.report ? verdictExit(o.report) : EXIT.error;
}

const VERDICT_TEXT = { within_tolerance: 'WITHIN TOLERANCE', over_tolerance: 'OVER TOLERANCE', inconclusive: 'INCONCLUSIVE' };

export function formatReport(r: ReconcileReport): string[] {
  const lines = [
    `${r.entity}: run ${r.runId}, ${VERDICT_TEXT[r.verdict]}: mismatch rate ${pct(r.mismatchRate)} (tolerance ${pct(r.tolerance)})`,
  ];
  if (r.verdictReason) lines.push(`  inconclusive: ${r.verdictReason}`);
  lines.push(
    `  rows: legacy ${r.legacyRows}, read model ${r.readModelRows}, matched ${r.matched}`,
    `  missing in projection ${r.missingInProjection}, extra in projection ${r.extraInProjection}, differing ${r.differing}` +
      (Object.keys(r.differingColumns).length
        ? ` (${Object.entries(r.differingColumns)
            .map(([c, n]) => `${c}: ${n}`)
            .join(', ')})`
        : '') +
      `, pending ${r.pending}, resolved on re-check ${r.resolvedOnRecheck}`,
    `  ${durationText(r)}, ${r.chunks} chunks (${r.prefilteredChunks} equal by in-database checksum; prefilter ${r.prefilter.enabled ? 'on' : 'off'}: ${r.prefilter.reason})`,
    `  table sha256: legacy ${r.tableSha256.legacy}, read model ${r.tableSha256.readModel}`,
  );
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

export function formatRepair(r: RepairSummary): string[] {
  const c = r.counts;
  const skipped = c.skipped ? `, ${c.skipped} skipped` : '';
  const head =
    c.planned + c.skipped === 0
      ? `repair of run ${r.runId} (${r.entity}): nothing to repair (no confirmed differences)`
      : r.apply
        ? `repair of run ${r.runId} (${r.entity}): ${c.appended} event(s) appended, ${c.alreadyThere} already there${skipped}`
        : `repair of run ${r.runId} (${r.entity}), DRY RUN: ${c.planned} corrective event(s) would be appended${skipped}; add --apply to append them`;
  return [
    head,
    ...r.actions
      .slice(0, 50)
      .map(
        (a) =>
          `  ${a.outcome === 'skipped' ? `skipped (${a.skip})` : a.outcome} ${a.event} on ${a.streamId} (${a.class})${a.reason ? `: ${a.reason}` : ''}`,
      ),
    ...(r.actions.length + r.actionsOmitted > 50 ? [`  … ${r.actions.length + r.actionsOmitted - 50} more`] : []),
  ];
}
