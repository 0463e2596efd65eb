import type { Severity } from './types.ts';

/**
 * Events behind head → severity: low ≤ 100, medium ≤ 1000, high ≤ 10000, critical above.
 * null when nothing is behind (no finding at all).
 */
export function lagSeverity(behind: number): Severity | null {
  if (behind <= 0) return null;
  if (behind <= 100) return 'low';
  if (behind <= 1000) return 'medium';
  if (behind <= 10_000) return 'high';
  return 'critical';
}
