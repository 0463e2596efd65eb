import type { Executor } from '../../db/executor.ts';
import type { EntityPlan } from '../engine/entityPlan.ts';
import { diffOf, hashRows } from '../engine/hashedRows.ts';
import type { LegacyReader } from '../engine/legacyLimits.ts';
import { mergeRows } from '../engine/merge.ts';
import type { ChunkChecksum, Prefilter } from '../engine/prefilter.ts';
import type { Query } from '../engine/sideSql.ts';
import { MOD64 } from '../encoding/rowEncoding.ts';
import type { DiffRow } from '../store/runs.ts';

/**
 * Narrowing a chunk whose checksums differ, inside the databases (data-diff's bisection,
 * k-way): cut the range into pieces of about PIECE_ROWS rows (at most MAX_PIECES pieces) at
 * every step-th key of the side with more rows (the read model on a tie: the legacy database
 * is the one to spare), checksum every piece on both sides in one scan each, keep the pieces
 * whose checksums differ and cut them again, until a piece holds at most LEAF_ROWS rows; only
 * those pieces' rows cross the wire and go through the TypeScript merge, which stays the
 * authority. A chunk up to MAX_PIECES × PIECE_ROWS rows is narrowed in one level (a piece
 * with a few rows more on one side is still a leaf): drift spread over a stretch of the table
 * then costs about one more checksum scan of it and a few round trips per chunk, not a
 * row-by-row read of it.
 */
export const MAX_PIECES = 1024;
export const PIECE_ROWS = 64;
export const LEAF_ROWS = 2 * PIECE_ROWS;

/** Rows per piece when a range of `n` rows is cut. */
export function stepFor(n: number): number {
  const pieces = Math.min(MAX_PIECES, Math.max(2, Math.ceil(n / PIECE_ROWS)));
  return Math.max(1, Math.ceil(n / pieces));
}
/** Rows fetched per statement and side when the narrowed pieces are compared row by row. */
const FETCH_ROWS = 5_000;

export interface KeyRange {
  after: unknown[] | null;
  upTo: unknown[] | null;
}

interface Piece extends KeyRange {
  legacy: number;
  readModel: number;
}

export interface ChunkResult {
  /** Every piece's checksums were equal: no row crossed the wire. */
  equal: boolean;
  legacy: ChunkChecksum;
  readModel: ChunkChecksum;
  /** Legacy rows in pieces with equal checksums, plus rows the merge matched. */
  matched: number;
  diffs: DiffRow[];
  /** Rows compared in TypeScript (both sides). */
  rowsCompared: number;
}

export interface Narrower {
  /** Checks the chunk (after, upTo]; `sizeHint` is its legacy row count (or an upper bound). */
  chunk(after: unknown[] | null, upTo: unknown[] | null, sizeHint: number): Promise<ChunkResult>;
  /** Chunks that differed and were narrowed, rows compared in TypeScript: for the report. */
  stats(): { narrowedChunks: number; rowsCompared: number };
}

const sameSum = (a: ChunkChecksum, b: ChunkChecksum) => a.count === b.count && a.sum === b.sum;

export function createNarrower(opts: { plan: EntityPlan; prefilter: Prefilter; reader: LegacyReader; store: Executor }): Narrower {
  const { plan, prefilter, reader, store } = opts;
  const q = prefilter.narrow;
  const run = {
    legacy: async (query: Query) => (await reader.query<unknown[]>(query.sql, query.params)).rows,
    readModel: async (query: Query) => (await store.query<unknown[]>(query.sql, query.params, { arrays: true })).rows,
  };
  // After a chunk that differed, the next one is cut into pieces straight away: drift over a
  // stretch makes every whole-chunk checksum differ, and the pieces' checksums sum to it.
  let drifting = false;
  let narrowedChunks = 0;
  let rowsCompared = 0;

  /** Checksums of the pieces of `range` cut at `cuts`, per side, by piece index. */
  async function pieces(range: KeyRange, cuts: unknown[][]) {
    const [l, r] = await Promise.all([
      run.legacy(q.pieces('legacy', range.after, range.upTo, cuts)),
      run.readModel(q.pieces('readModel', range.after, range.upTo, cuts)),
    ]);
    const byPiece = (rows: unknown[][]) => new Map(rows.map((row) => [Number(row[0]), prefilter.read(row.slice(1))]));
    return { legacy: byPiece(l), readModel: byPiece(r) };
  }

  /** Narrows `start` to the pieces that still differ at LEAF_ROWS; `known` = its checksums when already taken. */
  async function narrow(start: KeyRange, known: { legacy: ChunkChecksum; readModel: ChunkChecksum } | null, sizeHint: number) {
    const totals = known ?? { legacy: { count: 0, sum: 0n }, readModel: { count: 0, sum: 0n } };
    let matched = 0;
    const leaves: Piece[] = [];
    let work: Piece[] = [{ ...start, legacy: known ? known.legacy.count : sizeHint, readModel: known ? known.readModel.count : sizeHint }];
    let first = true;
    while (work.length) {
      const next: Piece[] = [];
      for (const w of work) {
        const n = Math.max(w.legacy, w.readModel);
        if (n <= LEAF_ROWS && !(first && !known)) {
          leaves.push(w);
          continue;
        }
        const side = w.legacy > w.readModel ? 'legacy' : 'readModel';
        const step = stepFor(n);
        const cuts = (await run[side](q.cuts(side, w.after, w.upTo, step))).map((r) => r.slice(0, plan.keyKinds.length));
        const p = await pieces(w, cuts);
        for (let i = 0; i <= cuts.length; i++) {
          const l = p.legacy.get(i) ?? { count: 0, sum: 0n };
          const r = p.readModel.get(i) ?? { count: 0, sum: 0n };
          if (first && !known) {
            totals.legacy = { count: totals.legacy.count + l.count, sum: (totals.legacy.sum + l.sum) % MOD64 };
            totals.readModel = { count: totals.readModel.count + r.count, sum: (totals.readModel.sum + r.sum) % MOD64 };
          }
          if (sameSum(l, r)) {
            matched += l.count;
            continue;
          }
          const piece = {
            after: i === 0 ? w.after : cuts[i - 1]!,
            upTo: i === cuts.length ? w.upTo : cuts[i]!,
            legacy: l.count,
            readModel: r.count,
          };
          // No cut inside the range (fewer rows than one step): it cannot get narrower.
          if (cuts.length === 0) leaves.push(piece);
          else next.push(piece);
        }
      }
      work = next;
      first = false;
    }
    return { totals, matched, leaves };
  }

  /** The leaves' rows, a statement per side for up to FETCH_ROWS rows, merged in TypeScript. */
  async function compareLeaves(leaves: Piece[], diffs: DiffRow[]): Promise<number> {
    let matched = 0;
    for (let i = 0; i < leaves.length;) {
      const batch: Piece[] = [];
      let rows = 0;
      while (i < leaves.length && (batch.length === 0 || rows + Math.max(leaves[i]!.legacy, leaves[i]!.readModel) <= FETCH_ROWS)) {
        rows += Math.max(leaves[i]!.legacy, leaves[i]!.readModel);
        batch.push(leaves[i++]!);
      }
      const [l, r] = await Promise.all([run.legacy(q.rows('legacy', batch)), run.readModel(q.rows('readModel', batch))]);
      rowsCompared += l.length + r.length;
      mergeRows(plan.columns, plan.keyKinds, hashRows(plan, l), hashRows(plan, r), (o) => {
        if (o.kind === 'matched') matched++;
        else diffs.push(diffOf(plan, o));
      });
    }
    return matched;
  }

  return {
    async chunk(after, upTo, sizeHint) {
      const range = { after, upTo };
      let known: { legacy: ChunkChecksum; readModel: ChunkChecksum } | null = null;
      if (!drifting) {
        const [l, r] = await Promise.all([run.legacy(prefilter.legacy(after, upTo)), run.readModel(prefilter.readModel(after, upTo))]);
        known = { legacy: prefilter.read(l[0]), readModel: prefilter.read(r[0]) };
        if (sameSum(known.legacy, known.readModel))
          return { equal: true, ...known, matched: known.legacy.count, diffs: [], rowsCompared: 0 };
      }
      const { totals, matched, leaves } = await narrow(range, known, sizeHint);
      drifting = leaves.length > 0;
      if (!drifting) return { equal: true, ...totals, matched, diffs: [], rowsCompared: 0 };
      narrowedChunks++;
      const diffs: DiffRow[] = [];
      const before = rowsCompared;
      const leafMatched = await compareLeaves(leaves, diffs);
      return { equal: false, ...totals, matched: matched + leafMatched, diffs, rowsCompared: rowsCompared - before };
    },
    stats: () => ({ narrowedChunks, rowsCompared }),
  };
}
