/** How bad a finding is. The order matters: a report fails at or above its `failOn`. */
export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const severityRank = (s: Severity): number => SEVERITIES.indexOf(s);
export const atLeast = (s: Severity, threshold: Severity): boolean => severityRank(s) >= severityRank(threshold);

export type CheckName = 'duplicate_event_ids' | 'stream_versions' | 'stream_heads' | 'global_positions' | 'projections' | 'visibility';

export interface Finding {
  check: CheckName;
  /** What exactly: version_gap, version_duplicate, ordering, projection_lag, projection_paused, … */
  kind: string;
  severity: Severity;
  /** One readable line. */
  message: string;
  details: Record<string, unknown>;
}

export interface CheckResult {
  name: CheckName;
  durationMs: number;
  /** How many problems exist in total; `findings` holds at most the example limit per kind. */
  total: number;
  findings: Finding[];
}

export interface ProjectionHealth {
  name: string;
  version: number;
  status: string;
  /** Committed events after the checkpoint (null when the checkpoint is from another epoch). */
  behind: number | null;
  /** now − recorded_at of the oldest unapplied event; 0 when caught up. */
  lagMs: number | null;
  /** Lag severity; null when caught up. */
  severity: Severity | null;
  checkpoint: { transactionId: string; position: number };
  failedEventId: string | null;
  failedPosition: number | null;
  lastError: string | null;
}

export interface DoctorReport {
  /** No finding at or above `failOn`. */
  healthy: boolean;
  failOn: Severity;
  checkedAt: string;
  durationMs: number;
  store: { events: number; streams: number; headPosition: number; invisibleCommitted: number };
  projections: ProjectionHealth[];
  checks: CheckResult[];
  /** Every finding of every check, worst first. */
  findings: Finding[];
}
