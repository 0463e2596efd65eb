import type { RecordedEvent } from '../../../eventstore/types.ts';
import { StranglerError } from '../../../errors/StranglerError.ts';
import type { ProjectionFold } from '../../types.ts';
import type { RowColumn } from './columns.ts';
import type { RowEventKind } from './kinds.ts';

export interface RowFoldState {
  /** The stream's row: null before its created event and after its delete. */
  document: Record<string, unknown> | null;
  deleted: boolean;
}

/** `->>` of the first field present, as the typed column's text (see columnExpr). */
function columnText(doc: Record<string, unknown>, c: RowColumn): string | null {
  for (const f of c.fields) {
    const v = doc[f];
    if (v === undefined || v === null) continue;
    return typeof v === 'string' ? v : JSON.stringify(v);
  }
  return null;
}

/**
 * The row projection's fold for `strangler doctor verify`: the same rules as foldRows
 * (created replaces the row, updated merges into a live one, deleted removes it), one
 * stream at a time, and the row they leave: its key and typed columns.
 */
export function createRowFold(opts: {
  kinds: ReadonlyMap<string, RowEventKind>;
  table: string;
  key: string;
  columns: readonly RowColumn[];
}): ProjectionFold<RowFoldState> {
  const data = (e: RecordedEvent): Record<string, unknown> => {
    if (typeof e.data !== 'object' || e.data === null || Array.isArray(e.data))
      throw new StranglerError(
        'malformed_event',
        `${e.type} ${e.id} (stream ${e.streamId}): data is not an object, so it cannot be a row.`,
      );
    return e.data as Record<string, unknown>;
  };
  return {
    kind: `row:${opts.table}`,
    version: 1,
    initial: () => ({ document: null, deleted: false }),
    apply(s, e) {
      const kind = opts.kinds.get(e.type);
      if (kind === 'created') return { document: { ...data(e) }, deleted: false };
      if (kind === 'deleted') return s.document ? { document: null, deleted: true } : s;
      if (kind === 'updated' && s.document) return { document: { ...s.document, ...data(e) }, deleted: false };
      return s;
    },
    serialize: (s) => s,
    deserialize(json) {
      const j = json as RowFoldState | null;
      if (!j || typeof j !== 'object' || typeof j.deleted !== 'boolean' || (j.document !== null && typeof j.document !== 'object'))
        throw new Error('not a row snapshot of fold version 1');
      return j;
    },
    rows(s, { id }) {
      const doc = s.document;
      const row = doc ? { [opts.key]: id, ...Object.fromEntries(opts.columns.map((c) => [c.column, columnText(doc, c)])) } : null;
      return {
        [opts.table]: {
          where: { [opts.key]: id },
          rows: row ? [row] : [],
          absent: s.deleted ? 'the stream deleted it' : 'no created event in the stream',
        },
      };
    },
  };
}
