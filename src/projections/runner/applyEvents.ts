import type { Executor } from '../../db/executor.ts';
import type { RecordedEvent } from '../../eventstore/types.ts';
import type { ProjectionModule, TableNames } from '../types.ts';

/** Old event shapes → current ones, on the way into handlers (published events are never rewritten). */
export type UpcastFn = (event: RecordedEvent) => RecordedEvent;

export const noUpcast: UpcastFn = (e) => e;

/**
 * A handler or upcaster failed: the batch's events are suspect (one of them may be poison),
 * as opposed to the database or the lease failing around them.
 */
export class ApplyError extends Error {
  readonly causeError: unknown;
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = 'ApplyError';
    this.causeError = cause;
  }
}

/** Upcasts and applies the events the module handles; the rest pass without calling it. */
export async function applyEvents(
  tx: Executor,
  module: ProjectionModule,
  events: readonly RecordedEvent[],
  tables: TableNames,
  upcast: UpcastFn,
): Promise<void> {
  const handles = new Set(module.handles);
  const relevant = events.filter((e) => handles.has(e.type));
  if (relevant.length === 0) return;
  try {
    await module.apply(tx, relevant.map(upcast), tables);
  } catch (err) {
    throw new ApplyError(err);
  }
}
