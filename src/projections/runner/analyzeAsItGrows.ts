import type { Executor } from '../../db/executor.ts';
import type { Logger } from '../../logging/logger.ts';
import { tableIdent } from '../modules/sql.ts';
import type { TableNames } from '../types.ts';
import { describeError } from './errors.ts';

/** The first ANALYZE comes after this many events; each next one after twice as many in all. */
export const FIRST_ANALYZE_AFTER = 5_000;

/**
 * Keeps the planner's statistics of a read model that is being filled fast (a catch-up from
 * position 0, a rebuild into fresh tables). A table created minutes ago has none until
 * autovacuum's next round, so the planner guesses 1/200 of the rows per key: a module's
 * `key = ANY($1)` lookup or delete then seq-scans the whole table once per batch (measured on
 * the sample's orders: a 100-key DELETE scanned 152,000 item rows, 94 ms, where the index took
 * 2.5 ms once analyzed). ANALYZE samples a fixed number of rows (tens of ms); doubling the
 * interval bounds it to log2(events) runs, and autovacuum takes over in steady state.
 * A failed ANALYZE (no privilege on a table the module shares) is logged once and never
 * fails a batch.
 */
export function createGrowthAnalyzer(db: Executor, log?: Pick<Logger, 'warn'>, first = FIRST_ANALYZE_AFTER) {
  let next = first;
  let warned = false;
  return {
    /** `applied`: events applied since this runner (or rebuild) started. */
    async applied(applied: number, tables: TableNames): Promise<void> {
      if (applied < next) return;
      next = applied * 2;
      const names = Object.values(tables);
      if (names.length === 0) return;
      try {
        await db.exec(`ANALYZE ${names.map(tableIdent).join(', ')}`);
      } catch (err) {
        if (!warned)
          log?.warn({ err: describeError(err), tables: names }, 'could not ANALYZE the read model while filling it; autovacuum will');
        warned = true;
      }
    },
  };
}
