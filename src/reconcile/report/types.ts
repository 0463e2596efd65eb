import type { ColumnKind } from '../encoding/kinds.ts';
import type { FeedingProjection } from '../engine/projectionHealth.ts';
import type { DiffRow, SkippedChunk } from '../store/runs.ts';

export type Verdict = 'within_tolerance' | 'over_tolerance' | 'inconclusive';

/** A sample of a difference, with both sides' canonical values (by legacy column name): a stored difference without its key text. */
export type DiffSample = Omit<DiffRow, 'keyText'>;

/** What a finished run stored and what ops read (JSON at /admin/reconciliations/ID, and as a page). */
export interface ReconcileReport {
  runId: number;
  entity: string;
  trigger: string;
  configHash: string;
  encodingVersion: number;
  legacyTable: string;
  readModelTable: string;
  projection: string;
  columns: { legacy: string; readModel: string; kind: ColumnKind }[];
  startedAt: string;
  finishedAt: string;
  /** Wall time from start to finish (includes the grace wait and re-checks). */
  durationMs: number;
  /** Time spent reading and comparing rows (no grace wait); rowsPerSecond is over this. Absent in reports before it was added. */
  readMs?: number;
  rowsPerSecond: number;
  legacyRows: number;
  readModelRows: number;
  matched: number;
  missingInProjection: number;
  extraInProjection: number;
  differing: number;
  /** Differing rows per column (a row may count for several). */
  differingColumns: Record<string, number>;
  /** Differences whose stream has events the projection has not applied yet: lag, not drift. */
  pending: number;
  /** Differences gone on the re-check (written while the run was reading). */
  resolvedOnRecheck: number;
  chunks: number;
  prefilteredChunks: number;
  prefilter: { enabled: boolean; reason: string };
  skippedChunks: SkippedChunk[];
  /** (missing + extra + differing) / max(legacy rows, projected rows); 0 for two empty tables. */
  mismatchRate: number;
  /** toleranceDriftPercent / 100. */
  tolerance: number;
  /**
   * within_tolerance / over_tolerance by the mismatch rate; inconclusive while the projection
   * feeding the entity is paused, failing, or behind reconciliation.maxPendingLagMs (its
   * pending rows may hide drift), whatever the rate.
   */
  verdict: Verdict;
  /** Why the verdict is inconclusive; null otherwise (absent in reports stored before it existed). */
  verdictReason?: string | null;
  /** The projection that builds the read model, when the run finished. */
  feedingProjection?: FeedingProjection;
  /** sha256 of "rows:Σ(row-hash prefixes) mod 2^64" per side: equal when the sides hold the same rows. */
  tableSha256: { legacy: string; readModel: string };
  samples: DiffSample[];
  trend: { previousRunId: number; previousMismatchRate: number; change: number } | null;
  resumed: boolean;
}
