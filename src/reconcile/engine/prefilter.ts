import type { Query } from './sideSql.ts';

/** Count and Σ of row-hash prefixes mod 2^64 over a key range, computed by a database. */
export interface ChunkChecksum {
  count: number;
  sum: bigint;
}

/**
 * In-database checksums of both sides for a key range (after, upTo]: the SQL to send (the
 * engine runs the legacy one under its load limits) and how to read the answer.
 */
export interface Prefilter {
  legacy(after: unknown[] | null, upTo: unknown[] | null): Query;
  readModel(after: unknown[] | null, upTo: unknown[] | null): Query;
  /** The answer's single row (count, sum) → the checksum, the sum reduced mod 2^64. */
  read(row: readonly unknown[] | undefined): ChunkChecksum;
  /** The SQL that narrows a differing range in the databases (prefilter/narrow.ts). */
  narrow: {
    /** Keys of every `step`-th row of a side in (after, upTo]. */
    cuts(side: Side, after: unknown[] | null, upTo: unknown[] | null, step: number): Query;
    /** (piece index, count, sum) per piece of (after, upTo] cut at `cuts`; read the last two with read(). */
    pieces(side: Side, after: unknown[] | null, upTo: unknown[] | null, cuts: readonly (readonly unknown[])[]): Query;
    /** The compared columns of the rows in several ranges, in key order. */
    rows(side: Side, ranges: readonly { after: unknown[] | null; upTo: unknown[] | null }[]): Query;
  };
  /** Per-row (key, hash prefix) for the walk in the legacy collation (keyedWalk.ts); read the prefix with read(). */
  keyed: {
    /** The first `limit` legacy rows after `after`, in the legacy's own key order. */
    legacy(after: unknown[] | null, limit: number): Query;
    /** The read model's rows whose key is one of `keys` (any order). */
    readModel(keys: readonly unknown[]): Query;
    /** (count, sum) of those rows' prefixes, read with read(): equal to the legacy's, no row crosses the wire. */
    readModelSum(keys: readonly unknown[]): Query;
    /** (count, sum) of the read model's rows with key in [first, last] in byte order, read with read(). */
    readModelRangeSum(first: unknown, last: unknown): Query;
  };
}

export type Side = 'legacy' | 'readModel';
