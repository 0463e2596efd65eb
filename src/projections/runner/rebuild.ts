import { randomBytes } from 'node:crypto';
import type { Executor } from '../../db/executor.ts';
import { createEventStore, type EventStore } from '../../eventstore/index.ts';
import { START, type Checkpoint, type RecordedEvent } from '../../eventstore/types.ts';
import type { ProjectionModule, TableNames } from '../types.ts';
import { createGrowthAnalyzer } from './analyzeAsItGrows.ts';
import { applyEvents, ApplyError, noUpcast, type UpcastFn } from './applyEvents.ts';
import { describeError, ProjectionStateError } from './errors.ts';
import { readProjection, registerProjection, type ProjectionRow } from './projectionRow.ts';
import { quoteTable, rebuildTableNames, swapTables } from './swapTables.ts';

export interface RebuildProgress {
  phase: 'building' | 'switching' | 'done';
  position: number;
  applied: number;
  /** Events after the rebuild checkpoint. */
  remaining: number;
  eventsPerSecond: number;
}

export interface RebuildOptions {
  store: EventStore;
  module: ProjectionModule;
  /** Who rebuilds (shown in status); another rebuild of the same projection waits for this one's lease. */
  owner: string;
  upcast?: UpcastFn;
  /** Events per transaction while building (default 1000). */
  batchSize?: number;
  /** A crashed rebuild can be taken over after this long without progress. */
  leaseMs?: number;
  onProgress?: (p: RebuildProgress) => void;
  /** Progress callbacks at most this often. */
  progressIntervalMs?: number;
  clock?: () => number;
  /** Stops the rebuild between batches (a sidecar shutting down); the next rebuild resumes it. */
  signal?: AbortSignal;
}

export interface RebuildResult {
  applied: number;
  position: number;
  tables: TableNames;
  durationMs: number;
  /** Events skipped because an operator dead-lettered them for this projection. */
  deadLettered: number;
}

/**
 * Rebuild without downtime: the module's current version is built into fresh tables from
 * position 0 while the served tables keep serving (the live runner keeps applying to
 * them). Once caught up, ONE transaction under the projection row lock applies the last
 * events, swaps the tables (swapTables) and moves the live checkpoint to the rebuild's;
 * the live runner's next compare-and-set sees the moved checkpoint and continues from
 * there on the new tables. An interrupted rebuild resumes from its own checkpoint.
 * Events an operator dead-lettered for this projection stay skipped (they are on record).
 */
export async function rebuildProjection(o: RebuildOptions): Promise<RebuildResult> {
  const { store, module, owner } = o;
  const name = module.name;
  const clock = o.clock ?? Date.now;
  const batchSize = o.batchSize ?? 1000;
  const leaseMs = o.leaseMs ?? 60_000;
  const upcast = o.upcast ?? noUpcast;
  const started = clock();
  await registerProjection(store.db, module, await store.epoch());
  const claim = await claimRebuild(store.db, module, owner, leaseMs);
  const built = claim.tables;
  if (claim.fresh) await store.db.exec(module.ddl(built));
  const skipped = await deadLettered(store.db, name);
  let cp = claim.checkpoint;
  let applied = claim.applied;
  let deadLetteredCount = 0;
  let lastReport = 0;
  const analyzer = createGrowthAnalyzer(store.db);
  // The module's own streams only, as the live runner reads them.
  const streams = module.streams ? { streamPrefixes: module.streams } : {};

  const applyPart = async (tx: Executor, events: readonly RecordedEvent[]) => {
    const keep = events.filter((e) => !skipped.has(e.id));
    deadLetteredCount += events.length - keep.length;
    try {
      await applyEvents(tx, module, keep, built, upcast);
    } catch (err) {
      const cause = err instanceof ApplyError ? err.causeError : err;
      throw new ProjectionStateError(
        `Rebuild of "${name}" failed on events at positions ${events[0]?.position}..${events[events.length - 1]?.position}: ${describeError(cause)}. Fix the handler and run the rebuild again: it resumes where it stopped.`,
      );
    }
  };
  const report = async (phase: RebuildProgress['phase'], force = false) => {
    if (!o.onProgress || (!force && clock() - lastReport < (o.progressIntervalMs ?? 1000))) return;
    lastReport = clock();
    const seconds = Math.max(0.001, (clock() - started) / 1000);
    o.onProgress({
      phase,
      position: cp.position,
      applied,
      remaining: await store.countAfter(cp),
      eventsPerSecond: Math.round((applied - claim.applied) / seconds),
    });
  };

  for (;;) {
    if (o.signal?.aborted)
      throw new ProjectionStateError(`Rebuild of "${name}" stopped at position ${cp.position}; run it again to resume from there.`);
    const { events, checkpoint: next, scanned } = await store.readAll({ after: cp, limit: batchSize, ...streams });
    if (scanned < batchSize) break; // close to the head: finish under the row lock
    await store.db.transaction(async (tx) => {
      await applyPart(tx, events);
      // Compare-and-set without holding the row while applying: lost to another rebuild → rolled back.
      const { rowCount } = await tx.query(
        `UPDATE strangler_projections
            SET rebuild_checkpoint_tx = $3::xid8, rebuild_checkpoint_pos = $4, rebuild_applied = rebuild_applied + $5,
                rebuild_expires_at = clock_timestamp() + $6 * interval '1 millisecond', updated_at = now()
          WHERE name = $1 AND rebuild_owner = $2 AND rebuild_checkpoint_tx = $7::xid8 AND rebuild_checkpoint_pos = $8`,
        [name, owner, next.transactionId, next.position, events.length, leaseMs, cp.transactionId, cp.position],
      );
      if (rowCount !== 1) throw new ProjectionStateError(`Rebuild of "${name}" was taken over by another rebuild; this one stops.`);
    });
    cp = next;
    applied += events.length;
    await analyzer.applied(applied - claim.applied, built);
    await report('building');
  }

  await report('switching', true);
  const epoch = await store.epoch();
  const served = await store.db.transaction(async (tx) => {
    // Everything inside goes through the transaction: the embedded store (PGlite) is one
    // connection, so a read through `store` here would wait for this transaction forever.
    const inTx = createEventStore(tx);
    const row = (await readProjection(tx, name, { forUpdate: true }))!;
    if (row.rebuild?.owner !== owner || row.rebuild.checkpoint.position !== cp.position) {
      throw new ProjectionStateError(`Rebuild of "${name}" was taken over by another rebuild; this one stops.`);
    }
    // Live runners wait on this row lock now: apply the tail, then swap, all or nothing.
    for (;;) {
      const { events, checkpoint, scanned } = await inTx.readAll({ after: cp, limit: batchSize, ...streams });
      if (scanned === 0) break;
      await applyPart(tx, events);
      cp = checkpoint;
      applied += events.length;
    }
    const servedNames: TableNames = Object.fromEntries(module.tables.map((t) => [t, row.tables[t] ?? t]));
    await swapTables(tx, { built, served: servedNames, retired: Object.values(row.tables) });
    // The new tables are past any failing event of the old version, so a failure pause ends
    // here; an operator's pause (paused_by) stays until the operator resumes.
    await tx.query(
      `UPDATE strangler_projections
          SET version = $2, tables = $3::jsonb, checkpoint_tx = $4::xid8, checkpoint_pos = $5, applied_events = $6, epoch = $7,
              status = CASE WHEN paused_by IS NULL THEN 'running' ELSE 'paused' END, failed_event_id = NULL, failed_tx = NULL, failed_position = NULL, last_error = NULL, failed_at = NULL, retries = 0,
              rebuild_version = NULL, rebuild_tables = NULL, rebuild_checkpoint_tx = NULL, rebuild_checkpoint_pos = NULL,
              rebuild_applied = NULL, rebuild_owner = NULL, rebuild_expires_at = NULL, rebuild_started_at = NULL, updated_at = now()
        WHERE name = $1`,
      [name, module.version, JSON.stringify(servedNames), cp.transactionId, cp.position, applied, epoch],
    );
    return servedNames;
  });
  await report('done', true);
  return { applied, position: cp.position, tables: served, durationMs: clock() - started, deadLettered: deadLetteredCount };
}

interface RebuildClaim {
  tables: TableNames;
  checkpoint: Checkpoint;
  applied: number;
  fresh: boolean;
}

/**
 * Takes the rebuild slot of the projection row: resumes this version's unfinished rebuild
 * (ours, or one whose lease expired), or starts a new one into fresh tables, dropping the
 * tables of an abandoned rebuild of another version.
 */
async function claimRebuild(db: Executor, module: ProjectionModule, owner: string, leaseMs: number): Promise<RebuildClaim> {
  const { claim, abandoned } = await db.transaction(async (tx) => {
    const row = (await readProjection(tx, module.name, { forUpdate: true }))!;
    const current = row.rebuild;
    if (current && current.owner !== owner && !(await expired(tx, row))) {
      throw new ProjectionStateError(
        `Projection "${module.name}" is already being rebuilt by ${current.owner}; wait for it (see status) or retry after its lease expires.`,
      );
    }
    const resume = current !== null && current.version === module.version && sameShape(current.tables, module);
    const tables = resume ? current.tables : rebuildTableNames(module.tables, randomBytes(3).toString('hex'));
    const checkpoint = resume ? current.checkpoint : START;
    const applied = resume ? current.applied : 0;
    await tx.query(
      `UPDATE strangler_projections
          SET rebuild_version = $2, rebuild_tables = $3::jsonb, rebuild_checkpoint_tx = $4::xid8, rebuild_checkpoint_pos = $5,
              rebuild_applied = $6, rebuild_owner = $7, rebuild_expires_at = clock_timestamp() + $8 * interval '1 millisecond',
              rebuild_started_at = COALESCE(CASE WHEN $9 THEN rebuild_started_at END, now()), updated_at = now()
        WHERE name = $1`,
      [module.name, module.version, JSON.stringify(tables), checkpoint.transactionId, checkpoint.position, applied, owner, leaseMs, resume],
    );
    return { claim: { tables, checkpoint, applied, fresh: !resume }, abandoned: !resume && current ? Object.values(current.tables) : [] };
  });
  if (abandoned.length) await db.exec(`DROP TABLE IF EXISTS ${abandoned.map(quoteTable).join(', ')}`);
  if (claim.fresh) await db.exec(`DROP TABLE IF EXISTS ${Object.values(claim.tables).map(quoteTable).join(', ')}`);
  return claim;
}

async function expired(tx: Executor, row: ProjectionRow): Promise<boolean> {
  if (!row.rebuild?.expiresAt) return true;
  const { rows } = await tx.query<{ expired: boolean }>('SELECT $1::timestamptz < clock_timestamp() AS expired', [row.rebuild.expiresAt]);
  return rows[0]?.expired ?? true;
}

const sameShape = (tables: TableNames, module: ProjectionModule) =>
  module.tables.every((t) => t in tables) && Object.keys(tables).length === module.tables.length;

async function deadLettered(db: Executor, projection: string): Promise<Set<string>> {
  const { rows } = await db.query<{ id: string }>('SELECT event_id::text AS id FROM strangler_dead_letters WHERE projection = $1', [
    projection,
  ]);
  return new Set(rows.map((r) => r.id));
}
