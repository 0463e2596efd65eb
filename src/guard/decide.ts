import type { CanaryState } from '../canary/stages.ts';
import type { EntityGuardSettings, Gate } from './gates.ts';

/**
 * What the guard does about one entity after one evaluation. Pure: the leader keeps the
 * memory (EntityMemory) between evaluations and carries out the decision (guard.ts).
 *
 * - Gates count only past dual_write (shadow, canary, complete).
 * - An evaluation with a failing gate extends the streak; any other ends it. Inconclusive
 *   gates neither fail nor pass: they never act and never promote.
 * - At `threshold` failures in a row the policy acts once per streak:
 *   `rollback` in canary/complete → percent 0, stage shadow, paused (held until an operator
 *   resumes); in shadow there is nothing to roll back, so it pauses (no promotion) like
 *   `freeze`; `freeze` → paused; `alert` → a notification only. Nothing to do (already
 *   paused) → no action.
 * - Any change the guard did not make (a new version) starts a new streak and a new stable period.
 * - Promotion: every gate passing for stableMs, at least minSamples read-model reads in the
 *   window, not paused, stage canary → the next step.
 * - Dry run: the same decisions, reported as `would_*`, never carried out.
 */
export interface EntityMemory {
  consecutiveFailures: number;
  /** The streak already acted on. */
  acted: boolean;
  /** Since when every gate passes (ms), or null. */
  stableSince: number | null;
  /** The canary version last seen (a different one = someone else changed it). */
  version: number;
}

export function freshMemory(version: number): EntityMemory {
  return { consecutiveFailures: 0, acted: false, stableSince: null, version };
}

export type GuardAction = 'rollback' | 'freeze' | 'alert' | 'promote';

export type Decision =
  | { kind: 'none' }
  | {
      kind: 'act';
      action: GuardAction;
      /** The failing gate that caused it (the first in gate order), or `stable` for a promotion. */
      reason: string;
      dryRun: boolean;
    };

export interface DecideInput {
  state: Pick<CanaryState, 'stage' | 'percent' | 'paused' | 'version'>;
  gates: readonly Gate[];
  settings: EntityGuardSettings;
  memory: EntityMemory;
  now: number;
  promotion: { enabled: boolean; stableMs: number };
  readModelReads: number;
}

export function decide(i: DecideInput): { decision: Decision; memory: EntityMemory } {
  let m = i.memory.version === i.state.version ? { ...i.memory } : freshMemory(i.state.version);
  const { stage, paused } = i.state;
  if (stage === 'dual_write') return { decision: { kind: 'none' }, memory: freshMemory(i.state.version) };
  const failing = i.gates.find((g) => g.state === 'fail');
  if (failing) {
    m.consecutiveFailures++;
    m.stableSince = null;
    if (m.consecutiveFailures < i.settings.threshold || m.acted) return { decision: { kind: 'none' }, memory: m };
    m.acted = true;
    const action = policyAction(i.settings.policy, stage, paused);
    if (!action) return { decision: { kind: 'none' }, memory: m };
    return { decision: { kind: 'act', action, reason: failing.name, dryRun: i.settings.dryRun }, memory: m };
  }
  m = { ...m, consecutiveFailures: 0, acted: false };
  const allPass = i.gates.every((g) => g.state === 'pass');
  if (!allPass) {
    m.stableSince = null;
    return { decision: { kind: 'none' }, memory: m };
  }
  m.stableSince ??= i.now;
  if (
    i.promotion.enabled &&
    stage === 'canary' &&
    !paused &&
    i.now - m.stableSince >= i.promotion.stableMs &&
    i.readModelReads >= i.settings.minSamples
  ) {
    m.stableSince = i.now;
    return { decision: { kind: 'act', action: 'promote', reason: 'stable', dryRun: i.settings.dryRun }, memory: m };
  }
  return { decision: { kind: 'none' }, memory: m };
}

function policyAction(policy: EntityGuardSettings['policy'], stage: CanaryState['stage'], paused: boolean): GuardAction | null {
  if (policy === 'alert') return 'alert';
  if (policy === 'rollback' && (stage === 'canary' || stage === 'complete')) return 'rollback';
  // freeze, or a rollback with nothing to roll back (shadow): hold the step.
  return paused ? null : 'freeze';
}
