import type { Logger } from 'pino';
import { CanaryChangeRefused, describe, type CanaryChange, type CanaryState, type EntityReadiness } from '../canary/stages.ts';
import { changeCanary } from '../canary/stateStore.ts';
import type { Config } from '../config/schema.ts';
import type { Executor } from '../db/executor.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { Decision } from './decide.ts';
import type { EntityGuardSettings, Gate } from './gates.ts';
import { dropHold, saveHold, type Hold } from './store.ts';
import type { Webhook } from './webhook.ts';

export interface ActionRecord {
  /** rollback, freeze, alert, promote, restore; `would_…` in dry run. */
  action: string;
  reason: string;
  dryRun: boolean;
  at: string;
  before: string;
  after: string;
  /** Audit entry ids of the changes made (none for alerts and dry runs). */
  auditIds: number[];
  /** Set when the change was refused (e.g. a concurrent operator change); nothing was done. */
  refused?: string;
}

interface ActContext {
  db: Executor;
  entity: string;
  state: CanaryState;
  config: Config;
  readiness: EntityReadiness;
  logger: Logger;
  metrics: Metrics;
  webhook: Webhook;
  replica: string;
}

const ACTOR = 'guard';

async function change(ctx: ActContext, wanted: CanaryChange, reason: string, gates: unknown) {
  return changeCanary(ctx.db, {
    entity: ctx.entity,
    change: wanted,
    actor: ACTOR,
    source: 'guard',
    reason,
    expectedVersion: ctx.state.version,
    steps: ctx.config.canary.steps,
    readiness: ctx.readiness,
    gates,
  });
}

/**
 * Carries out a decision: the canary change(s) through changeCanary (actor and source
 * `guard`, reason the gate, the gate values in the audit entry), the counter, the log line
 * and the webhook notification. A rollback is a rollback then a pause (two audit entries),
 * and the step it left is kept (strangler_guard_holds) for the restore after a resume.
 */
export async function carryOut(
  ctx: ActContext & { decision: Extract<Decision, { kind: 'act' }>; gates: readonly Gate[]; settings: EntityGuardSettings },
): Promise<{ record: ActionRecord; state: CanaryState | null }> {
  const { decision, entity, state } = ctx;
  const action = decision.dryRun ? `would_${decision.action}` : decision.action;
  const auditIds: number[] = [];
  let after: CanaryState = state;
  let refused: string | undefined;
  const failing = ctx.gates.find((g) => g.name === decision.reason);
  const reasonText = failing
    ? `${failing.name} ${String(failing.value)} > ${failing.threshold} (${ctx.settings.threshold} evaluations in a row)`
    : decision.reason;
  if (!decision.dryRun) {
    try {
      if (decision.action === 'rollback') {
        const r = await change(ctx, { action: 'rollback' }, decision.reason, ctx.gates);
        auditIds.push(r.auditId);
        after = r.after;
        if (!after.paused) {
          const p = await change({ ...ctx, state: after }, { action: 'pause' }, decision.reason, ctx.gates);
          auditIds.push(p.auditId);
          after = p.after;
        }
        // Only once paused: a hold on an unpaused entity would be restored at once (a leader dying
        // between the two changes leaves shadow unpaused and no hold; the gates pause it next).
        await saveHold(ctx.db, { entity, fromStage: state.stage, fromPercent: state.percent });
      } else if (decision.action === 'freeze') {
        const r = await change(ctx, { action: 'pause' }, decision.reason, ctx.gates);
        auditIds.push(r.auditId);
        after = r.after;
      } else if (decision.action === 'promote') {
        const r = await change(ctx, { action: 'promote' }, 'every gate passing for promotion.stableMinutes', ctx.gates);
        auditIds.push(r.auditId);
        after = r.after;
      }
    } catch (err) {
      if (!(err instanceof CanaryChangeRefused)) throw err;
      refused = err.message;
    }
  }
  const record: ActionRecord = {
    action,
    reason: decision.reason,
    dryRun: decision.dryRun,
    at: new Date().toISOString(),
    before: describe(state) + (state.paused ? ' (paused)' : ''),
    after: describe(after) + (after.paused ? ' (paused)' : ''),
    auditIds,
    ...(refused ? { refused } : {}),
  };
  if (refused) {
    ctx.logger.warn({ entity, action, reason: decision.reason, refused }, `guard ${entity}: ${action} refused: ${refused}`);
    return { record, state: null };
  }
  ctx.metrics.guardActions.inc({ entity, action, reason: decision.reason });
  const text = decision.dryRun
    ? `guard ${entity}: would ${decision.action} (dry run): ${reasonText}`
    : `guard ${entity}: ${decision.action} ${record.before} → ${record.after}: ${reasonText}`;
  ctx.logger[decision.action === 'promote' ? 'info' : 'warn'](
    { entity, action, reason: decision.reason, gates: ctx.gates, auditIds },
    text,
  );
  ctx.webhook.send({
    type: 'strangler.guard',
    entity,
    action,
    reason: decision.reason,
    dryRun: decision.dryRun,
    policy: ctx.settings.policy,
    text,
    before: { stage: state.stage, percent: state.percent, paused: state.paused },
    after: { stage: after.stage, percent: after.percent, paused: after.paused },
    gates: ctx.gates,
    auditIds,
    at: record.at,
    replica: ctx.replica,
  });
  return { record, state: auditIds.length > 0 ? after : null };
}

/**
 * After a guard rollback, an operator's resume (the entity no longer paused, still at shadow
 * 0 %) lets the guard put back the step it rolled back from. Any other change by an operator
 * (a new percent) drops the hold: their choice stands.
 */
export async function restoreHeld(ctx: ActContext & { hold: Hold }): Promise<{ record: ActionRecord; state: CanaryState } | null> {
  const { entity, hold, state } = ctx;
  await dropHold(ctx.db, entity);
  if (state.stage !== 'shadow' || state.percent !== 0) return null;
  try {
    const r = await change(
      ctx,
      { action: 'set', stage: hold.fromStage, percent: hold.fromPercent },
      'resumed by an operator after a guard rollback',
      null,
    );
    const record: ActionRecord = {
      action: 'restore',
      reason: 'resumed',
      dryRun: false,
      at: new Date().toISOString(),
      before: describe(state),
      after: describe(r.after),
      auditIds: [r.auditId],
    };
    ctx.metrics.guardActions.inc({ entity, action: 'restore', reason: 'resumed' });
    const text = `guard ${entity}: restored ${describe(r.after)} after the operator's resume`;
    ctx.logger.info({ entity, auditId: r.auditId }, text);
    ctx.webhook.send({
      type: 'strangler.guard',
      entity,
      action: 'restore',
      reason: 'resumed',
      dryRun: false,
      text,
      before: state,
      after: r.after,
      at: record.at,
      replica: ctx.replica,
    });
    return { record, state: r.after };
  } catch (err) {
    if (!(err instanceof CanaryChangeRefused)) throw err;
    ctx.logger.warn(
      { entity, refused: err.message },
      `guard ${entity}: cannot restore ${hold.fromPercent} % after the resume: ${err.message}`,
    );
    return null;
  }
}
