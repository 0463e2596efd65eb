import type { ReconciliationConfig } from '../../config/schema.ts';
import type { Executor } from '../../db/executor.ts';
import { streamsWithEventsAfter } from '../../eventstore/index.ts';
import { START } from '../../eventstore/types.ts';
import { readProjection } from '../../projections/runner/projectionRow.ts';
import { recordRechecks, suspectPage, type DiffRow, type Recheck } from '../store/runs.ts';
import type { EntityPlan } from './entityPlan.ts';
import { diffOf, hashRows } from './hashedRows.ts';
import { keyText } from './keyText.ts';
import { differingColumns } from './merge.ts';
import { keysQuery } from './sideSql.ts';

const RECHECK_PAGE = 500;

export interface RecheckOptions {
  plan: EntityPlan;
  legacy: Executor;
  store: Executor;
  settings: Pick<ReconciliationConfig, 'graceMs'>;
}

/** Second look at every suspect after the grace window: resolved, pending (unprojected events) or confirmed. */
export async function recheck(opts: RecheckOptions, runId: number, sleep: (ms: number) => Promise<void>): Promise<void> {
  const { plan, store } = opts;
  const first = await suspectPage(store, runId, null, 1);
  if (!first.length) return;
  if (opts.settings.graceMs > 0) await sleep(opts.settings.graceMs);
  // No row yet (the projection never ran): every event is unapplied.
  const checkpoint = (await readProjection(store, plan.projection))?.checkpoint ?? START;
  let afterKey: string | null = null;
  for (;;) {
    const page = await suspectPage(store, runId, afterKey, RECHECK_PAGE);
    if (!page.length) return;
    afterKey = page[page.length - 1]!.keyText;
    const keys = page.map((d) => d.key);
    const [lq, rq] = [keysQuery(plan.legacy, keys), keysQuery(plan.readModel, keys)];
    const [l, r] = await Promise.all([
      opts.legacy.query<unknown[]>(lq.sql, lq.params, { arrays: true }),
      store.query<unknown[]>(rq.sql, rq.params, { arrays: true }),
    ]);
    const byKey = (rows: unknown[][]) => new Map(hashRows(plan, rows).map((h) => [keyText(h.keyCanon), h]));
    const lm = byKey(l.rows);
    const rm = byKey(r.rows);
    const still: { d: DiffRow; now: DiffRow }[] = [];
    const checks: Recheck[] = [];
    for (const d of page) {
      const a = lm.get(d.keyText);
      const b = rm.get(d.keyText);
      if (a && b && a.hash === b.hash) {
        checks.push({ keyText: d.keyText, status: 'resolved', diff: null });
        continue;
      }
      if (!a && !b) {
        checks.push({ keyText: d.keyText, status: 'resolved', diff: null }); // gone from both sides meanwhile
        continue;
      }
      const now = !b
        ? diffOf(plan, { kind: 'missing', legacy: a })
        : !a
          ? diffOf(plan, { kind: 'extra', readModel: b })
          : diffOf(plan, { kind: 'differing', legacy: a, readModel: b, columns: differingColumns(plan.columns, a, b) });
      still.push({ d, now });
    }
    const pending = plan.streamOf
      ? await streamsWithEventsAfter(
          store,
          still.map((s) => plan.streamOf!(s.d.key.map(String))),
          checkpoint,
        )
      : new Set<string>();
    for (const s of still) {
      const isPending = plan.streamOf !== null && pending.has(plan.streamOf(s.d.key.map(String)));
      checks.push({ keyText: s.d.keyText, status: isPending ? 'pending' : 'confirmed', diff: s.now });
    }
    await recordRechecks(store, runId, checks);
  }
}
