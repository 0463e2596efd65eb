import { severityRank, type CheckName, type DoctorReport, type Severity } from './types.ts';

const LABEL: Record<CheckName, string> = {
  duplicate_event_ids: 'duplicate event ids',
  stream_versions: 'stream versions (gaps, duplicates, ordering)',
  stream_heads: 'stream heads (strangler_streams.version)',
  global_positions: 'global positions unique',
  projections: 'projections (lag, paused)',
  visibility: 'committed but not yet visible',
};

/** The readable report `strangler doctor` prints: a line per check, then the findings, worst first. */
export function formatReport(r: DoctorReport): string[] {
  const lines = [
    `event store: ${r.store.events} events in ${r.store.streams} streams, head position ${r.store.headPosition}, ${r.store.invisibleCommitted} committed but not yet visible`,
    '',
  ];
  for (const c of r.checks) {
    const worst = c.findings.reduce<Severity | null>(
      (w, f) => (w === null || severityRank(f.severity) > severityRank(w) ? f.severity : w),
      null,
    );
    const state = worst === null ? 'ok  ' : worst === 'info' ? 'info' : 'FAIL';
    const found = c.total ? `: ${c.total} finding(s), worst ${worst ?? '?'}` : '';
    lines.push(`  ${state} ${LABEL[c.name]}${found} (${c.durationMs} ms)`);
  }
  if (r.projections.length) {
    lines.push('', 'projections:');
    for (const p of r.projections) {
      const lag =
        p.behind === null ? 'lag unknown (other epoch)' : p.behind === 0 ? 'caught up' : `${p.behind} behind, ${p.lagMs} ms, ${p.severity}`;
      lines.push(`  ${p.name} v${p.version} ${p.status}: ${lag}, checkpoint ${p.checkpoint.transactionId}/${p.checkpoint.position}`);
    }
  }
  if (r.findings.length) {
    lines.push('', 'findings:');
    for (const f of r.findings) lines.push(`  [${f.severity}] ${f.message}`);
    for (const c of r.checks) {
      const more = c.total - c.findings.length;
      if (more > 0) lines.push(`  … and ${more} more from ${c.name} (--limit to see more, --json for details)`);
    }
  }
  lines.push('', `${r.healthy ? 'healthy' : 'UNHEALTHY'} (fails on ${r.failOn} or worse), checked in ${r.durationMs} ms`);
  return lines;
}
