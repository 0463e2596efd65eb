/**
 * What the read path tells the guard (src/guard/): every routed read and every shadow
 * comparison, as they happen on this replica. The guard's window keeps the counts and
 * publishes them to PostgreSQL so that one leader sees the sum over every replica.
 * Prometheus counters are kept separately by the read path (metrics.ts).
 */

/** Who answered the client. */
export type ReadSource = 'legacy' | 'read-model';

/**
 * Why the read went where it went:
 * - `served`: the read model answered (source read-model);
 * - `routed`: legacy by stage or percent; `no_key`: no sticky key; `override`: the tester's header;
 * - `read_your_writes`: the key's latest event is not applied yet; `list_lag`: the projection lags;
 * - `error` / `timeout`: the read model failed or was slow, and legacy answered at once;
 * - `passed`: the handler left the request to legacy (PASS_TO_LEGACY, e.g. a parameter only legacy validates).
 */
export const READ_OUTCOMES = [
  'served',
  'routed',
  'no_key',
  'override',
  'read_your_writes',
  'list_lag',
  'error',
  'timeout',
  'passed',
] as const;
export type ReadOutcome = (typeof READ_OUTCOMES)[number];

export const SHADOW_RESULTS = ['match', 'mismatch', 'error', 'shed', 'noisy'] as const;
export type ShadowResult = (typeof SHADOW_RESULTS)[number];

export interface ReadObservation {
  entity: string;
  route: string;
  source: ReadSource;
  outcome: ReadOutcome;
  /** Time to the client's answer (for the read model's own attempts, including failed ones: readModelSeconds). */
  seconds: number;
  /** Set when the read model was asked (served, error, timeout): how long it took or until given up. */
  readModelSeconds?: number;
}

export interface ReadStats {
  read(o: ReadObservation): void;
  shadow(entity: string, route: string, result: ShadowResult): void;
}

export const NO_READ_STATS: ReadStats = { read: () => undefined, shadow: () => undefined };
