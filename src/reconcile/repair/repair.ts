import { createHash } from 'node:crypto';
import type { Executor } from '../../db/executor.ts';
import { StranglerError } from '../../errors/StranglerError.ts';
import { appendToStream, ConcurrencyError, streamVersion } from '../../eventstore/index.ts';
import type { Logger } from '../../logging/logger.ts';
import { canonicalValue } from '../encoding/canonical.ts';
import { displayCanonical } from '../encoding/rowEncoding.ts';
import type { EntityPlan } from '../engine/entityPlan.ts';
import { keyText } from '../engine/keyText.ts';
import { keysQuery } from '../engine/sideSql.ts';
import { confirmedDiffs, type DiffRow, type RunSummary } from '../store/runs.ts';
import { ROW_REMOVED, ROW_REPAIRED } from './repairEvents.ts';

export interface RepairAction {
  key: unknown[];
  streamId: string;
  class: DiffRow['class'];
  event: typeof ROW_REPAIRED | typeof ROW_REMOVED;
  /** The after-image appended (RowRepaired), by read-model column name. */
  data: Record<string, string | null>;
  outcome: 'planned' | 'appended' | 'already_appended' | 'changed_meanwhile' | 'not_repairable';
  detail?: string;
}

export interface RepairResult {
  runId: number;
  entity: string;
  apply: boolean;
  actions: RepairAction[];
  counts: Record<RepairAction['outcome'], number>;
}

const PAGE = 500;

/** A stable event id per (run, key): applying the same repair twice appends nothing the second time. */
function repairEventId(runId: number, keyText: string): string {
  const h = createHash('sha256').update(`strangler-repair:${runId}:${keyText}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * Corrective events for the confirmed differences of a finished run: the legacy row as it
 * is now (re-read, not the run's copy) for missing and differing rows, a removal for extra
 * rows. Dry run unless `apply`. Each append expects the stream version read just before it:
 * a command that lands meanwhile makes the repair of that key stand down (the next run sees
 * the key again if it still differs).
 */
export async function repairRun(opts: {
  plan: EntityPlan;
  run: RunSummary;
  legacy: Executor;
  store: Executor;
  apply: boolean;
  logger?: Logger;
}): Promise<RepairResult> {
  const { plan, run } = opts;
  if (run.status !== 'finished')
    throw new StranglerError(
      'repair_unfinished_run',
      `Run ${run.runId} is ${run.status}; repair works from a finished run. Run \`strangler reconcile --entity ${run.entity}\` first.`,
      { status: 400 },
    );
  // A composite key names no stream (`orders-{id}` takes one value): such rows are listed, not repaired.
  const streamOf =
    plan.streamOf ?? ((key: readonly string[]) => `(no stream: ${plan.entity} has the composite key ${JSON.stringify(key)})`);
  const actions: RepairAction[] = [];
  let after: string | null = null;
  for (;;) {
    const page = await confirmedDiffs(opts.store, run.runId, after, PAGE);
    if (!page.length) break;
    after = page[page.length - 1]!.keyText;
    // The whole after-image, not only the compared columns: the projection needs every column it keeps.
    const q = keysQuery(
      plan.image.legacy,
      page.map((d) => d.key),
    );
    const { rows } = await opts.legacy.query<unknown[]>(q.sql, q.params, { arrays: true });
    const legacyByKey = new Map<string, unknown[]>();
    for (const r of rows) {
      legacyByKey.set(keyText(plan.columns.slice(0, plan.keyKinds.length).map((p, i) => canonicalValue(p, r[i]))), r);
    }
    for (const d of page) {
      const row = legacyByKey.get(d.keyText);
      const streamId = streamOf(d.key.map(String));
      const data = row
        ? Object.fromEntries(plan.image.columns.map((p, i) => [p.readModel, displayCanonical(canonicalValue(p, row[i]))]))
        : {};
      const action: RepairAction = {
        key: d.key,
        streamId,
        class: d.class,
        event: row ? ROW_REPAIRED : ROW_REMOVED,
        data,
        outcome: 'planned',
      };
      if (d.class !== 'extra' && !row) action.detail = 'the legacy row was deleted since the run; a removal is appended instead';
      // Never remove a row legacy still has: one reconcile.where.legacy leaves out, or one inserted since the run.
      if (d.class === 'extra' && row)
        action.detail =
          'the legacy row exists (left out by reconcile.where, or inserted since the run); its after-image is appended, not a removal';
      if (!plan.streamOf) {
        action.outcome = 'not_repairable';
        action.detail = `${plan.entity} has a composite key; fix it in legacy or in the projection that builds ${plan.readModelTable}`;
      } else if (opts.apply) await applyAction(opts, run.runId, d, action);
      actions.push(action);
    }
  }
  const counts = { planned: 0, appended: 0, already_appended: 0, changed_meanwhile: 0, not_repairable: 0 };
  for (const a of actions) counts[a.outcome]++;
  return { runId: run.runId, entity: plan.entity, apply: opts.apply, actions, counts };
}

async function applyAction(opts: { store: Executor; logger?: Logger }, runId: number, d: DiffRow, action: RepairAction): Promise<void> {
  // No stream yet (a row loaded before dual-write started): the repair starts it.
  const version = await streamVersion(opts.store, action.streamId);
  try {
    const res = await appendToStream(
      opts.store,
      action.streamId,
      [
        {
          id: repairEventId(runId, d.keyText),
          type: action.event,
          data: action.data,
          metadata: { source: 'reconciliation', runId, class: d.class, columns: d.columns, schemaVersion: 1 },
        },
      ],
      { expected: version ?? 'no_stream' },
    );
    action.outcome = res.replayed ? 'already_appended' : 'appended';
  } catch (err) {
    if (!(err instanceof ConcurrencyError)) throw err;
    action.outcome = 'changed_meanwhile';
    action.detail = `stream ${action.streamId} moved on while repairing (${err.message}); run reconciliation again`;
    opts.logger?.warn({ streamId: action.streamId }, 'repair stood down: the stream changed meanwhile');
  }
}
