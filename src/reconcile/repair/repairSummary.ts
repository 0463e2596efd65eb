import type { RepairAction, RepairResult } from './repair.ts';

/**
 * A repair as the admin API answers it and `strangler reconcile --repair --json` prints it:
 *
 * - planned: corrective events for the run's confirmed differences (dry run: would be appended)
 * - appended / alreadyThere: with apply, appended now / appended by an earlier apply of the same run
 * - skipped: rows not repaired, each action with its reason: a composite key names no stream
 *   (`not_repairable`), or a command moved the stream on meanwhile (`stood_down`: run again)
 *
 * `complete` = every planned event was appended or already there (what exit 0 means).
 */
export interface RepairSummary {
  runId: number;
  entity: string;
  apply: boolean;
  counts: { planned: number; appended: number; alreadyThere: number; skipped: number };
  complete: boolean;
  actions: {
    key: unknown[];
    streamId: string;
    event: RepairAction['event'];
    class: RepairAction['class'];
    outcome: 'planned' | 'appended' | 'already_there' | 'skipped';
    skip?: 'not_repairable' | 'stood_down';
    reason?: string;
  }[];
  /** Actions left out of `actions` (it holds at most `limit`). */
  actionsOmitted: number;
}

export function summarizeRepair(r: RepairResult, limit = 1000): RepairSummary {
  const c = r.counts;
  const planned = r.actions.length - c.not_repairable;
  return {
    runId: r.runId,
    entity: r.entity,
    apply: r.apply,
    counts: { planned, appended: c.appended, alreadyThere: c.already_appended, skipped: c.not_repairable + c.changed_meanwhile },
    complete: r.apply ? c.appended + c.already_appended === planned : true,
    actions: r.actions.slice(0, limit).map((a) => ({
      key: a.key,
      streamId: a.streamId,
      event: a.event,
      class: a.class,
      ...(a.outcome === 'not_repairable' || a.outcome === 'changed_meanwhile'
        ? { outcome: 'skipped' as const, skip: a.outcome === 'not_repairable' ? ('not_repairable' as const) : ('stood_down' as const) }
        : { outcome: a.outcome === 'already_appended' ? ('already_there' as const) : a.outcome }),
      ...(a.detail ? { reason: a.detail } : {}),
    })),
    actionsOmitted: Math.max(0, r.actions.length - limit),
  };
}
