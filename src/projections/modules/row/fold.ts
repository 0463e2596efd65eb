import type { RecordedEvent } from '../../../eventstore/types.ts';
import { StranglerError } from '../../../errors/StranglerError.ts';
import type { AppliedState } from '../appliedVersions.ts';
import type { RowEventKind } from './kinds.ts';

/** One key's net change from a batch. */
export interface RowChange {
  key: string;
  lastVersion: number;
  existed: boolean;
  /** Created in this batch: the whole document (later updates of the batch merged in). */
  document?: Record<string, unknown>;
  /** Updates to merge into an existing row's document (shallow, like jsonb `||`). */
  patch: Record<string, unknown>;
  deleted: boolean;
}

function dataObject(event: RecordedEvent): Record<string, unknown> {
  const d = event.data;
  if (typeof d !== 'object' || d === null || Array.isArray(d)) {
    throw new StranglerError(
      'malformed_event',
      `${event.type} ${event.id} (stream ${event.streamId}): data is not an object, so it cannot be a row.`,
      {
        details: { eventId: event.id, position: event.position },
      },
    );
  }
  return d as Record<string, unknown>;
}

/**
 * Folds a batch per key in log order; events at or below the key's applied version are
 * skipped (idempotency). An update for a key with no row (the entity predates dual-write)
 * has nothing to merge into and is left out until reconciliation repairs the row.
 * Shallow merge is associative (`(d || p1) || p2 = d || (p1 || p2)`), so a batch's updates
 * are merged here and applied by one statement.
 */
export function foldRows(
  events: readonly RecordedEvent[],
  kinds: ReadonlyMap<string, RowEventKind>,
  applied: ReadonlyMap<string, AppliedState>,
  keyOf: (streamId: string) => string,
): RowChange[] {
  const changes = new Map<string, RowChange>();
  for (const event of events) {
    const kind = kinds.get(event.type);
    if (!kind) continue;
    const key = keyOf(event.streamId);
    let c = changes.get(key);
    if (!c) {
      const st = applied.get(key);
      c = { key, lastVersion: st?.lastVersion ?? 0, existed: st !== undefined && !st.deleted, patch: {}, deleted: false };
      changes.set(key, c);
    }
    if (event.version <= c.lastVersion) continue;
    if (kind === 'created') {
      c.document = { ...dataObject(event) };
      c.patch = {};
      c.deleted = false;
    } else if (kind === 'deleted') {
      if (!c.existed && !c.document) continue;
      c.deleted = true;
      delete c.document;
      c.patch = {};
    } else {
      if (c.deleted || (!c.existed && !c.document)) continue;
      if (c.document) Object.assign(c.document, dataObject(event));
      else Object.assign(c.patch, dataObject(event));
    }
    c.lastVersion = event.version;
  }
  return [...changes.values()].filter((c) => c.lastVersion > (applied.get(c.key)?.lastVersion ?? 0));
}
