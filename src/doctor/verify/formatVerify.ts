import type { VerifyResult } from './verifyStream.ts';

/** The readable answer of `strangler doctor verify STREAM`. */
export function formatVerify(r: VerifyResult): string[] {
  const snap = r.replay.snapshotVersion !== null ? `from snapshot at version ${r.replay.snapshotVersion}` : 'from version 0';
  const lines = [
    `${r.streamId}: replayed to version ${r.version} ${snap} (${r.replay.eventsRead} event(s) read)` +
      (r.replay.snapshotDiscarded ? `; a stored snapshot was discarded: ${r.replay.snapshotDiscarded}` : '') +
      (r.replay.snapshotSaved !== null ? `; snapshot saved at version ${r.replay.snapshotSaved}` : ''),
  ];
  if (r.pending) lines.push(`note: projection ${r.projection} has not applied version ${r.version} yet; differences may be lag, not drift`);
  if (r.equal) {
    lines.push(`equal: the ${r.projection} read model matches the stream for ${r.entity} ${r.id}`);
    return lines;
  }
  lines.push(
    `DIFFERENT: ${r.differences.length} field(s) differ between the stream and the ${r.projection} read model for ${r.entity} ${r.id}`,
  );
  const width = Math.max(...r.differences.map((d) => d.field.length));
  for (const d of r.differences)
    lines.push(`  ${d.field.padEnd(width)}  stream: ${d.expected ?? 'null'}  read model: ${d.actual ?? 'null'}`);
  return lines;
}
