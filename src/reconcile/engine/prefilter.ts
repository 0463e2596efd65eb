/** Count and Σ of row-hash prefixes (mod 2^64 once reduced) over a key range, computed by a database. */
export interface ChunkChecksum {
  count: number;
  sum: bigint;
}

/** In-database checksums of both sides for a key range (after, upTo]. */
export interface Prefilter {
  legacy(after: unknown[] | null, upTo: unknown[] | null): Promise<ChunkChecksum>;
  readModel(after: unknown[] | null, upTo: unknown[] | null): Promise<ChunkChecksum>;
}
