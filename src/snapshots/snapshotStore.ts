import type { Executor } from '../db/executor.ts';

/**
 * What strangler_snapshots.state holds: the serialized state wrapped with what validation
 * needs. The table keeps one snapshot per (stream, kind): the latest.
 */
export interface SnapshotEnvelope {
  format: 1;
  /** Aggregate.version that wrote it; another version's snapshot is discarded. */
  foldVersion: number;
  /** The event at `version` when the snapshot was taken. */
  anchor: { eventId: string; position: number };
  /** snapshotDigest(streamId, kind, foldVersion, version, anchor.eventId, state). */
  digest: string;
  state: unknown;
}

export interface StoredSnapshot {
  streamId: string;
  kind: string;
  version: number;
  /** Unvalidated: whatever the row holds. */
  envelope: unknown;
}

export async function loadSnapshot(db: Executor, streamId: string, kind: string): Promise<StoredSnapshot | null> {
  const { rows } = await db.query<{ version: string; state: string | object }>(
    'SELECT version, state FROM strangler_snapshots WHERE stream_id = $1 AND kind = $2',
    [streamId, kind],
  );
  const row = rows[0];
  if (!row) return null;
  return { streamId, kind, version: Number(row.version), envelope: typeof row.state === 'string' ? JSON.parse(row.state) : row.state };
}

/**
 * Upserts the snapshot unless a newer one is already stored: two rehydrations racing each
 * other must never move the snapshot backwards.
 */
export async function saveSnapshot(
  db: Executor,
  streamId: string,
  kind: string,
  version: number,
  envelope: SnapshotEnvelope,
): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO strangler_snapshots (stream_id, kind, version, state) VALUES ($1, $2, $3, $4::jsonb)
       ON CONFLICT (stream_id, kind) DO UPDATE SET version = EXCLUDED.version, state = EXCLUDED.state, created_at = now()
       WHERE strangler_snapshots.version < EXCLUDED.version`,
    [streamId, kind, version, JSON.stringify(envelope)],
  );
  return rowCount > 0;
}

/** Removes the snapshot at exactly this version (not a newer one another process just wrote). */
export async function deleteSnapshot(db: Executor, streamId: string, kind: string, version: number): Promise<void> {
  await db.query('DELETE FROM strangler_snapshots WHERE stream_id = $1 AND kind = $2 AND version = $3', [streamId, kind, version]);
}
