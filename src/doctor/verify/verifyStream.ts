import type { Logger } from 'pino';
import { PgState, sqlState, type Executor } from '../../db/executor.ts';
import { StranglerError } from '../../errors/StranglerError.ts';
import type { EventStore } from '../../eventstore/index.ts';
import type { RecordedEvent } from '../../eventstore/types.ts';
import type { ProjectionFold } from '../../projections/types.ts';
import { rehydrate } from '../../snapshots/rehydrate.ts';
import { compareRows, type FieldDifference } from './compareRows.ts';
import { readModelTables } from './readModelTables.ts';
import { readRows } from './readRows.ts';

/** An entity verify can check: its stream template and the projection holding its read model. */
export interface VerifyTarget {
  entity: string;
  /** Stream template (config entities.*.stream), e.g. `carts-{id}`. */
  stream: string;
  /** Projection name (its checkpoint row and tables). */
  projection: string;
  /** The projection module's fold; none = this entity cannot be verified. */
  fold: ProjectionFold<unknown> | undefined;
  /** The projection's upcasters, applied to each event before the fold (as the runner does). */
  upcast?: (event: RecordedEvent) => RecordedEvent;
}

export interface VerifyOptions {
  /** The entities of the config (see verifyTargets). */
  targets: readonly VerifyTarget[];
  /** The projection whose tables hold the read model. Default: the entity's projection. */
  projection?: string;
  /** eventStore.snapshotInterval. */
  snapshotInterval: number;
  useSnapshots?: boolean;
  logger?: Logger;
}

export interface VerifyResult {
  streamId: string;
  entity: string;
  id: string;
  projection: string;
  /** Stream version replayed. */
  version: number;
  equal: boolean;
  /**
   * The projection has not applied the stream's last event yet: differences may be lag,
   * not drift. null when the projection has no checkpoint row.
   */
  pending: boolean | null;
  differences: FieldDifference[];
  replay: {
    eventsRead: number;
    eventsReplayed: number;
    snapshotVersion: number | null;
    snapshotDiscarded: string | null;
    snapshotSaved: number | null;
  };
}

export function parseStreamId(streamId: string, streams: Record<string, string>): { entity: string; id: string } | null {
  for (const [entity, template] of Object.entries(streams)) {
    const at = template.indexOf('{id}');
    if (at < 0) continue;
    const prefix = template.slice(0, at);
    const suffix = template.slice(at + 4);
    if (streamId.length > prefix.length + suffix.length && streamId.startsWith(prefix) && streamId.endsWith(suffix)) {
      return { entity, id: streamId.slice(prefix.length, streamId.length - suffix.length) };
    }
  }
  return null;
}

/**
 * `strangler doctor verify STREAM`: replays the stream (from its snapshot when valid)
 * through its projection module's fold and compares the rows the fold expects with the
 * projected ones, field by field. Any projection whose module offers a `fold` can be
 * verified; the row projection offers one.
 */
export async function verifyStream(store: EventStore, db: Executor, streamId: string, opts: VerifyOptions): Promise<VerifyResult> {
  const streams = Object.fromEntries(opts.targets.map((t) => [t.entity, t.stream]));
  const parsed = parseStreamId(streamId, streams);
  if (!parsed) {
    const example = opts.targets[0]?.stream.replace('{id}', '42') ?? 'carts-42';
    throw new StranglerError(
      'usage',
      `Stream ${JSON.stringify(streamId)} matches no entity's stream template (${Object.values(streams).join(', ') || 'no entities with a projection in the config'}). Example: strangler doctor verify ${example}`,
      { status: 400 },
    );
  }
  const target = opts.targets.find((t) => t.entity === parsed.entity)!;
  const fold = target.fold;
  if (!fold) {
    const can = opts.targets.filter((t) => t.fold).map((t) => t.entity);
    throw new StranglerError(
      'usage',
      `verify has no fold for entity "${parsed.entity}": its projection ${target.projection} offers none (a module offers one as \`fold\`, see docs/extending.md); it can verify: ${can.join(', ') || 'none'}.`,
      { status: 400 },
    );
  }
  const projection = opts.projection ?? target.projection;
  const upcast = target.upcast;
  const aggregate = upcast ? { ...fold, apply: (s: unknown, e: RecordedEvent) => fold.apply(s, upcast(e)) } : fold;
  const r = await rehydrate(store, db, streamId, aggregate, {
    interval: opts.snapshotInterval,
    ...(opts.logger ? { logger: opts.logger } : {}),
    ...(opts.useSnapshots === undefined ? {} : { useSnapshots: opts.useSnapshots }),
  });
  if (r.version === 0) throw new StranglerError('not_found', `Stream ${streamId} has no events.`, { status: 404 });

  const expected = fold.rows(r.state, { id: parsed.id });
  const tables = await readModelTables(db, projection, Object.keys(expected));
  const differences: FieldDifference[] = [];
  for (const [logical, exp] of Object.entries(expected)) {
    const physical = tables[logical] ?? logical;
    const actual = await readRows(db, physical, exp).catch((err: unknown) => {
      if (sqlState(err) !== PgState.undefinedTable) throw err;
      throw new StranglerError(
        'no_read_model',
        `The read-model table ${physical} does not exist in this database: has the ${projection} projection run? (${(err as Error).message})`,
        { status: 404, cause: err },
      );
    });
    differences.push(...compareRows(logical, exp, actual));
  }
  return {
    streamId,
    entity: parsed.entity,
    id: parsed.id,
    projection,
    version: r.version,
    equal: differences.length === 0,
    pending: await lastEventPending(db, projection, streamId, r.version),
    differences,
    replay: {
      eventsRead: r.eventsRead,
      eventsReplayed: r.eventsReplayed,
      snapshotVersion: r.snapshot.usedVersion,
      snapshotDiscarded: r.snapshot.discarded,
      snapshotSaved: r.snapshot.savedVersion,
    },
  };
}

/** Is the stream's event at `version` past the projection's (transaction_id, position) checkpoint? */
async function lastEventPending(db: Executor, projection: string, streamId: string, version: number): Promise<boolean | null> {
  const { rows: exists } = await db.query<{ t: string | null }>(`SELECT to_regclass('strangler_projections')::text AS t`);
  if (!exists[0]?.t) return null;
  const { rows } = await db.query<{ pending: boolean }>(
    `SELECT (e.transaction_id, e.global_position) > (p.checkpoint_tx, p.checkpoint_pos) AS pending
       FROM strangler_events e, strangler_projections p
      WHERE e.stream_id = $1 AND e.stream_version = $2 AND p.name = $3
      LIMIT 1`,
    [streamId, version, projection],
  );
  const v = rows[0]?.pending as unknown;
  return v === undefined ? null : v === true || v === 't';
}
