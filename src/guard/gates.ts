import type { Config } from '../config/schema.ts';
import { quantileMs, type EntityCounts } from './window.ts';

export const GATE_NAMES = ['projection_lag', 'state_mismatch', 'shadow_mismatch', 'read_errors', 'read_latency', 'spool_depth'] as const;
export type GateName = (typeof GATE_NAMES)[number];
export const GATE_STATES = ['pass', 'fail', 'inconclusive'] as const;
export type GateState = (typeof GATE_STATES)[number];

export interface Gate {
  name: GateName;
  /** The measured value (ms, rate, ratio, depth); null when there is none to measure. */
  value: number | null;
  threshold: number;
  state: GateState;
  /** Why inconclusive or failing, in a few words (e.g. "paused", "12 comparisons < minSamples 100"). */
  note?: string;
}

/** The thresholds and policy for one entity: `rollback` with `entities.X.rollback` over it. */
export interface EntityGuardSettings {
  policy: 'rollback' | 'freeze' | 'alert';
  dryRun: boolean;
  threshold: number;
  projectionLagMs: number;
  stateMismatchRate: number;
  errorRate: number;
  maxLatencyRatio: number;
  minSamples: number;
  maxSpoolDepth: number;
  maxReportAgeMs: number;
}

export function entitySettings(config: Config, entity: string, maxReportAgeMs: number): EntityGuardSettings {
  const r = config.rollback;
  const o = config.entities[entity]?.rollback ?? {};
  return {
    policy: o.policy ?? r.policy,
    dryRun: o.dryRun ?? r.dryRun,
    threshold: o.threshold ?? r.threshold,
    projectionLagMs: o.projectionLagMs ?? r.projectionLagMs,
    stateMismatchRate: o.stateMismatchRate ?? r.stateMismatchRate,
    errorRate: o.errorRate ?? r.errorRate,
    maxLatencyRatio: o.maxLatencyRatio ?? r.maxLatencyRatio,
    minSamples: o.minSamples ?? r.minSamples,
    maxSpoolDepth: o.maxSpoolDepth ?? r.maxSpoolDepth,
    maxReportAgeMs,
  };
}

/** What the leader measured for one entity before judging it. */
export interface GateInputs {
  /** The feeding projection: its lag and state, or null when the entity has none this sidecar knows. */
  projection: { name: string; lagMs: number; state: string } | null;
  report: { runId: number; mismatchRate: number; verdict: string; ageMs: number } | null;
  window: EntityCounts;
  spoolDepth: number;
}

const round = (v: number) => Math.round(v * 1e6) / 1e6;

export function evaluateGates(s: EntityGuardSettings, i: GateInputs): Gate[] {
  const gates: Gate[] = [];
  const p = i.projection;
  if (!p) gates.push({ name: 'projection_lag', value: null, threshold: s.projectionLagMs, state: 'inconclusive', note: 'no projection' });
  else if (p.state === 'paused' || p.state === 'failed')
    gates.push({ name: 'projection_lag', value: p.lagMs, threshold: s.projectionLagMs, state: 'fail', note: `${p.name} is ${p.state}` });
  else if (p.state === 'not_started')
    gates.push({
      name: 'projection_lag',
      value: null,
      threshold: s.projectionLagMs,
      state: 'inconclusive',
      note: `${p.name} has not started`,
    });
  else
    gates.push({
      name: 'projection_lag',
      value: p.lagMs,
      threshold: s.projectionLagMs,
      state: p.lagMs > s.projectionLagMs ? 'fail' : 'pass',
    });

  const r = i.report;
  if (!r)
    gates.push({
      name: 'state_mismatch',
      value: null,
      threshold: s.stateMismatchRate,
      state: 'inconclusive',
      note: 'no finished reconciliation',
    });
  else if (r.ageMs > s.maxReportAgeMs)
    gates.push({
      name: 'state_mismatch',
      value: r.mismatchRate,
      threshold: s.stateMismatchRate,
      state: 'inconclusive',
      note: `report ${r.runId} is ${Math.round(r.ageMs / 1000)} s old (maxReportAgeMs ${s.maxReportAgeMs})`,
    });
  else if (r.verdict === 'inconclusive')
    gates.push({
      name: 'state_mismatch',
      value: r.mismatchRate,
      threshold: s.stateMismatchRate,
      state: 'inconclusive',
      note: `report ${r.runId} is inconclusive`,
    });
  else
    gates.push({
      name: 'state_mismatch',
      value: r.mismatchRate,
      threshold: s.stateMismatchRate,
      state: r.mismatchRate > s.stateMismatchRate ? 'fail' : 'pass',
      note: `report ${r.runId}`,
    });

  const w = i.window;
  const few = (n: number, what: string) => `${n} ${what} < minSamples ${s.minSamples}`;
  /** A rate over a count of samples: inconclusive (with the rate so far) below minSamples. */
  const rateGate = (name: GateName, part: number, whole: number, threshold: number, what: string): Gate => {
    const value = whole > 0 ? round(part / whole) : null;
    if (whole < s.minSamples) return { name, value, threshold, state: 'inconclusive', note: few(whole, what) };
    return { name, value, threshold, state: value! > threshold ? 'fail' : 'pass' };
  };
  gates.push(rateGate('shadow_mismatch', w.mismatches, w.compared, s.stateMismatchRate, 'comparisons'));
  gates.push(rateGate('read_errors', w.rmFailures, w.rmReads, s.errorRate, 'read-model reads'));

  const legacyReads = w.legacyLatency.reduce((a, b) => a + b, 0);
  const rmP99 = quantileMs(w.rmLatency, 0.99);
  const legacyP99 = quantileMs(w.legacyLatency, 0.99);
  if (w.rmReads < s.minSamples || legacyReads < s.minSamples || rmP99 === null || legacyP99 === null)
    gates.push({
      name: 'read_latency',
      value: rmP99 !== null && legacyP99 !== null ? round(rmP99 / legacyP99) : null,
      threshold: s.maxLatencyRatio,
      state: 'inconclusive',
      note: `${w.rmReads} read-model and ${legacyReads} legacy reads; minSamples ${s.minSamples} of each`,
    });
  else {
    const ratio = round(rmP99 / legacyP99);
    gates.push({
      name: 'read_latency',
      value: ratio,
      threshold: s.maxLatencyRatio,
      state: ratio > s.maxLatencyRatio ? 'fail' : 'pass',
      note: `p99 ${rmP99} ms vs ${legacyP99} ms`,
    });
  }

  gates.push({
    name: 'spool_depth',
    value: i.spoolDepth,
    threshold: s.maxSpoolDepth,
    state: i.spoolDepth > s.maxSpoolDepth ? 'fail' : 'pass',
  });
  return gates;
}
