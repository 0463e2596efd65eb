import type { Executor } from '../../db/executor.ts';
import { lagSeverity } from '../severity.ts';
import type { Finding, ProjectionHealth } from '../types.ts';

interface Row {
  name: string;
  version: number;
  status: string;
  epoch: string | null;
  checkpoint_tx: string;
  checkpoint_pos: string;
  failed_event_id: string | null;
  failed_position: string | null;
  last_error: string | null;
  paused_by: string | null;
  pause_reason: string | null;
  behind: string;
  lag_ms: string | null;
}

/**
 * Per projection: events behind head (committed events after its (transaction_id,
 * position) checkpoint — the order the runner reads in), milliseconds behind (now −
 * recorded_at of the oldest unapplied event) and paused state with the failing event.
 * Each count is a range scan of the (transaction_id, global_position) index from the
 * checkpoint on, so it costs what the projection is behind, not the table size.
 */
export async function checkProjections(
  db: Executor,
  opts: { now: Date; epoch: string },
): Promise<{ total: number; findings: Finding[]; projections: ProjectionHealth[] }> {
  const { rows: exists } = await db.query<{ t: string | null }>(`SELECT to_regclass('strangler_projections')::text AS t`);
  if (!exists[0]?.t) return { total: 0, findings: [], projections: [] };
  // The pause columns are read through to_jsonb: the doctor never migrates, and must still run
  // against a store from before migration 005 (they are simply absent there).
  const { rows } = await db.query<Row>(
    `SELECT p.name, p.version, p.status, p.epoch, p.checkpoint_tx::text AS checkpoint_tx, p.checkpoint_pos,
            p.failed_event_id::text AS failed_event_id, p.failed_position, p.last_error,
            to_jsonb(p) ->> 'paused_by' AS paused_by, to_jsonb(p) ->> 'pause_reason' AS pause_reason,
            (SELECT count(*) FROM strangler_events e
              WHERE (e.transaction_id, e.global_position) > (p.checkpoint_tx, p.checkpoint_pos)) AS behind,
            (SELECT floor(extract(epoch FROM ($1::timestamptz - e.recorded_at)) * 1000)::bigint FROM strangler_events e
              WHERE (e.transaction_id, e.global_position) > (p.checkpoint_tx, p.checkpoint_pos)
              ORDER BY e.transaction_id, e.global_position LIMIT 1) AS lag_ms
       FROM strangler_projections p
      ORDER BY p.name`,
    [opts.now.toISOString()],
  );
  const findings: Finding[] = [];
  const projections = rows.map((r): ProjectionHealth => {
    // Transaction ids from another cluster (dump/restore) compare meaninglessly with ours.
    const foreignEpoch = r.epoch !== null && r.epoch !== opts.epoch;
    const behind = foreignEpoch ? null : Number(r.behind);
    const severity = behind === null ? null : lagSeverity(behind);
    const p: ProjectionHealth = {
      name: r.name,
      version: Number(r.version),
      status: r.status,
      behind,
      lagMs: foreignEpoch ? null : Math.max(0, Number(r.lag_ms ?? 0)),
      severity,
      checkpoint: { transactionId: r.checkpoint_tx, position: Number(r.checkpoint_pos) },
      failedEventId: r.failed_event_id,
      failedPosition: r.failed_position === null ? null : Number(r.failed_position),
      lastError: r.last_error,
    };
    const details = { projection: p.name, status: p.status, behind: p.behind, lagMs: p.lagMs, checkpoint: p.checkpoint };
    if (foreignEpoch) {
      findings.push({
        check: 'projections',
        kind: 'projection_epoch_mismatch',
        severity: 'high',
        message: `${p.name}: checkpoint belongs to store epoch ${r.epoch}, this store is ${opts.epoch}; lag unknown until the runner re-bases it`,
        details: { ...details, epoch: r.epoch, storeEpoch: opts.epoch },
      });
    } else if (severity !== null && behind !== null) {
      // A rebuild is behind by design while the previous version serves: reported, never failing.
      const rebuilding = p.status === 'rebuilding';
      findings.push({
        check: 'projections',
        kind: 'projection_lag',
        severity: rebuilding ? 'info' : severity,
        message: `${p.name}${rebuilding ? ' (rebuilding)' : ''}: ${behind} event(s) behind head, ${p.lagMs} ms (${severity})`,
        details: { ...details, lagSeverity: severity },
      });
    }
    if (p.status === 'paused' && r.paused_by !== null && r.failed_event_id === null) {
      // A deliberate pause: worth knowing (events queue up), not a fault to page on.
      findings.push({
        check: 'projections',
        kind: 'projection_paused',
        severity: 'medium',
        message: `${p.name} is paused by ${r.paused_by}${r.pause_reason ? ` (${r.pause_reason})` : ''}; events wait in the log until \`strangler projections resume ${p.name}\``,
        details: { ...details, pausedBy: r.paused_by, pauseReason: r.pause_reason },
      });
    } else if (p.status === 'paused') {
      findings.push({
        check: 'projections',
        kind: 'projection_paused',
        severity: 'high',
        message: `${p.name} is paused at event ${p.failedEventId ?? '?'} (position ${p.failedPosition ?? '?'}): ${sentence(p.lastError ?? 'no error recorded')} Fix the cause, then \`strangler projections resume ${p.name}\` (or \`skip\` to dead-letter it)`,
        details: { ...details, failedEventId: p.failedEventId, failedPosition: p.failedPosition, lastError: p.lastError },
      });
    }
    return p;
  });
  return { total: findings.length, findings, projections };
}

/** An error message as one sentence: its own final period kept, never doubled ("…got x.."). */
function sentence(text: string): string {
  const trimmed = text.trim();
  return /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}
