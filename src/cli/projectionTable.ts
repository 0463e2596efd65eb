import type { ProjectionStatus } from '../projections/runner/status.ts';

/** A projection as printed: the status of the row, plus (from the admin API) this sidecar's last rebuild. */
export type PrintableProjection = ProjectionStatus & {
  lastRebuild?: { state: string; error: string | null; startedBy: string; finishedAt: string | null } | null;
};

/** The status table, then one indented line per pause, failure or rebuild, with what to do next. */
export function formatStatusTable(list: readonly PrintableProjection[]): string[] {
  const header = ['NAME', 'STATE', 'VERSION', 'POSITION', 'APPLIED', 'LAG_EVENTS', 'LAG_MS', 'LEASE'];
  const rows = list.map((p) => [
    p.name,
    // `state` is absent only in answers from a sidecar older than this CLI.
    (p.state as string | undefined) ?? p.status,
    String(p.version ?? '-'),
    String(p.position),
    String(p.appliedEvents),
    String(p.lagEvents),
    String(p.lagMs),
    p.leaseOwner ?? '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const out = [fmt(header)];
  list.forEach((p, i) => {
    out.push(fmt(rows[i]!));
    if (p.pause) {
      out.push(`  paused by ${p.pause.by} at ${p.pause.at}${p.pause.reason ? `: ${p.pause.reason}` : ''}`);
      out.push(`  next: \`strangler projections resume ${p.name}\` to catch up`);
    }
    if (p.failure) {
      out.push(
        `  failing event ${p.failure.eventId} at position ${p.failure.position} (after ${p.failure.retries} retries, ${p.failure.at}): ${p.failure.error}`,
      );
      out.push(
        `  next: fix the handler, then \`strangler projections resume ${p.name}\`, or \`strangler projections skip ${p.name}\` to dead-letter it`,
      );
    }
    if (p.rebuild)
      out.push(
        `  rebuilding v${p.rebuild.version} by ${p.rebuild.owner ?? '-'}: position ${p.rebuild.position}, ${p.rebuild.applied} applied, ${p.rebuild.remaining} remaining`,
      );
    if (p.lastRebuild?.state === 'failed')
      out.push(
        `  last rebuild (started by ${p.lastRebuild.startedBy}) failed at ${p.lastRebuild.finishedAt ?? '?'}: ${p.lastRebuild.error ?? '?'}`,
      );
  });
  return out;
}
