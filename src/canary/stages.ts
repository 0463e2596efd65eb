import { StranglerError } from '../errors/StranglerError.ts';

/**
 * Where an entity's reads stand. Legacy takes every write at every stage; what moves is
 * who answers reads:
 *
 * - `dual_write`: legacy answers every read (the default for an entity with commands)
 * - `shadow`: legacy answers; the read model is asked in the background and compared
 * - `canary`: `percent` of the keys (sticky) read from the read model, the rest from legacy
 * - `complete`: every read from the read model (100 %)
 */
export const STAGES = ['dual_write', 'shadow', 'canary', 'complete'] as const;
export type Stage = (typeof STAGES)[number];

/** Stages whose legacy-served reads the shadow compares (every read in shadow, a sample in canary). */
export const comparesReads = (stage: Stage): boolean => stage === 'shadow' || stage === 'canary';

export interface CanaryState {
  entity: string;
  stage: Stage;
  /** Share of keys read from the read model, 0–100 (two decimals: 10,000 buckets). */
  percent: number;
  /** Paused: no promotion (operator or guard) until resumed; a rollback is still allowed. */
  paused: boolean;
  /** Bumped by every change; a change may name the version it expects (409 when stale). */
  version: number;
  updatedAt: string;
  updatedBy: string;
}

export const CANARY_ACTIONS = ['set', 'promote', 'rollback', 'pause', 'resume'] as const;
export type CanaryAction = (typeof CANARY_ACTIONS)[number];

/** What a change asks for; `set` takes a stage and/or a percent. */
export interface CanaryChange {
  action: CanaryAction;
  stage?: Stage;
  percent?: number;
}

/** The parts of an entity's spec a change is checked against. */
export interface EntityReadiness {
  /** Read routes of the entity (`GET /orders/:id`). */
  reads: readonly string[];
  /** Read routes that have a read handler this sidecar can run. */
  handled: readonly string[];
}

/** A change that cannot hold (refused with the reason; nothing is written). */
export class CanaryChangeRefused extends StranglerError {
  constructor(message: string, status: 400 | 409 = 409) {
    super(status === 400 ? 'bad_request' : 'canary_change_refused', message, { status });
  }
}

const DEFAULT_STAGE: Stage = 'dual_write';

export function initialState(entity: string, now: string): CanaryState {
  return { entity, stage: DEFAULT_STAGE, percent: 0, paused: false, version: 0, updatedAt: now, updatedBy: 'config' };
}

/** The stage a percent means: 0 → shadow (from canary/complete), 100 → complete, else canary. */
function stageOfPercent(percent: number, current: Stage): Stage {
  if (percent >= 100) return 'complete';
  if (percent > 0) return 'canary';
  return current === 'dual_write' ? 'dual_write' : 'shadow';
}

function percentOfStage(stage: Stage, steps: readonly number[]): number {
  if (stage === 'complete') return 100;
  if (stage === 'canary') return steps[0] ?? 10;
  return 0;
}

/**
 * The state after `change`, or a CanaryChangeRefused saying why it cannot hold. Pure: the
 * caller reads the current state, applies this, and writes the result with its audit entry.
 */
export function applyChange(
  current: CanaryState,
  change: CanaryChange,
  steps: readonly number[],
  readiness: EntityReadiness,
): Pick<CanaryState, 'stage' | 'percent' | 'paused'> {
  const { entity } = current;
  switch (change.action) {
    case 'pause':
      if (current.paused) throw new CanaryChangeRefused(`${entity} is already paused.`);
      return { stage: current.stage, percent: current.percent, paused: true };
    case 'resume':
      if (!current.paused) throw new CanaryChangeRefused(`${entity} is not paused.`);
      return { stage: current.stage, percent: current.percent, paused: false };
    case 'rollback':
      if (current.stage === 'dual_write' || (current.stage === 'shadow' && current.percent === 0))
        throw new CanaryChangeRefused(
          `${entity} is at ${current.stage}; no read is served by the read model, so there is nothing to roll back.`,
        );
      return { stage: 'shadow', percent: 0, paused: current.paused };
    case 'promote': {
      refuseWhenPaused(current, 'promote');
      const next = nextStep(current, steps);
      check(entity, next.stage, readiness);
      return { ...next, paused: false };
    }
    case 'set': {
      refuseWhenPaused(current, 'change');
      const target = setTarget(current, change, steps);
      check(entity, target.stage, readiness);
      if (target.stage === current.stage && target.percent === current.percent)
        throw new CanaryChangeRefused(`${entity} is already at ${describe(current)}.`);
      return { ...target, paused: false };
    }
  }
}

export function describe(s: Pick<CanaryState, 'stage' | 'percent'>): string {
  return s.stage === 'canary' ? `canary ${s.percent} %` : s.stage;
}

/** The same with `(paused)` when paused: how the CLI shows a state. */
export function describeWithPause(s: Pick<CanaryState, 'stage' | 'percent' | 'paused'>): string {
  return describe(s) + (s.paused ? ' (paused)' : '');
}

function refuseWhenPaused(current: CanaryState, what: string): void {
  if (current.paused)
    throw new CanaryChangeRefused(
      `${current.entity} is paused (by ${current.updatedBy}); resume it before you ${what} it (strangler canary resume ${current.entity} --reason …). A rollback is allowed while paused.`,
    );
}

function nextStep(current: CanaryState, steps: readonly number[]): { stage: Stage; percent: number } {
  switch (current.stage) {
    case 'dual_write':
      return { stage: 'shadow', percent: 0 };
    case 'shadow':
    case 'canary': {
      const step = steps.find((s) => s > current.percent);
      if (step === undefined) return { stage: 'complete', percent: 100 };
      return { stage: stageOfPercent(step, 'canary'), percent: step };
    }
    case 'complete':
      throw new CanaryChangeRefused(`${current.entity} is complete (every read from the read model); there is no next step.`);
  }
}

function setTarget(current: CanaryState, change: CanaryChange, steps: readonly number[]): { stage: Stage; percent: number } {
  const { stage, percent } = change;
  if (percent !== undefined && !(Number.isFinite(percent) && percent >= 0 && percent <= 100 && Math.round(percent * 100) === percent * 100))
    throw new CanaryChangeRefused(`percent must be a number from 0 to 100 (at most two decimals), got ${String(percent)}.`, 400);
  if (stage === undefined && percent === undefined)
    throw new CanaryChangeRefused('Give stage, percent or both, e.g. {"percent": 10, "reason": "first step"}.', 400);
  if (stage === undefined) return { stage: stageOfPercent(percent!, current.stage), percent: percent! };
  if (percent === undefined) return { stage, percent: percentOfStage(stage, steps) };
  const implied = stage === 'canary' ? percent > 0 && percent < 100 : percent === percentOfStage(stage, steps);
  if (!implied)
    throw new CanaryChangeRefused(
      `stage ${stage} with percent ${percent} does not hold: ${stage === 'canary' ? 'canary takes a percent above 0 and below 100 (100 is complete)' : `${stage} means ${percentOfStage(stage, steps)} %`}.`,
      400,
    );
  return { stage, percent };
}

/** Reads from the read model need a handler for every read route of the entity. */
function check(entity: string, stage: Stage, readiness: EntityReadiness): void {
  if (stage === 'dual_write') return;
  if (readiness.reads.length === 0)
    throw new CanaryChangeRefused(
      `${entity} has no read routes (entities.${entity}.reads), so the read model has nothing to answer; ${stage} needs at least one.`,
    );
  const missing = readiness.reads.filter((r) => !readiness.handled.includes(r));
  if (missing.length > 0)
    throw new CanaryChangeRefused(
      `${stage} needs a read handler for every read route of ${entity}; none can answer ${missing.join(', ')} yet.`,
    );
}
