import type { Executor } from '../../db/executor.ts';
import { invisibleCommittedCount } from '../../eventstore/readAll.ts';
import { lagSeverity } from '../severity.ts';
import type { CheckOutput } from './duplicateEventIds.ts';

/**
 * Committed events no global reader can see yet, because a transaction older than them is
 * still open somewhere on the server (readers stop at the snapshot xmin). Late, never lost:
 * it is lag for every projection at once, graded like projection lag.
 */
export async function checkVisibility(db: Executor): Promise<CheckOutput & { invisible: number }> {
  const invisible = await invisibleCommittedCount(db);
  const severity = lagSeverity(invisible);
  return {
    invisible,
    total: severity ? 1 : 0,
    findings: severity
      ? [
          {
            check: 'visibility',
            kind: 'invisible_committed',
            severity,
            message: `${invisible} committed event(s) are not yet visible to global readers: an older transaction is still open (idle_in_transaction_session_timeout ends idle ones)`,
            details: { invisible },
          },
        ]
      : [],
  };
}
