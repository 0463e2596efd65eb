import { StranglerError } from '../errors/StranglerError.ts';
import type { ExpectedState } from './types.ts';

/** The stream was not in the expected state; `actual` is its version, or null when it does not exist. */
export class ConcurrencyError extends StranglerError {
  readonly streamId: string;
  readonly expected: ExpectedState;
  readonly actual: number | null;

  constructor(streamId: string, expected: ExpectedState, actual: number | null) {
    super(
      'wrong_expected_version',
      `Stream ${streamId}: expected ${String(expected)}, but it is ${actual === null ? 'absent' : `at version ${actual}`}. Re-read the stream and retry the command.`,
      { status: 409, details: { streamId, expected, actual } },
    );
    this.streamId = streamId;
    this.expected = expected;
    this.actual = actual;
  }
}

/** Some, but not all, event ids of a batch are already stored: the batch is not a retry of one append. */
export class IdempotencyConflictError extends StranglerError {
  constructor(streamId: string, stored: number, total: number) {
    super(
      'idempotency_conflict',
      `Stream ${streamId}: ${stored} of ${total} event ids are already stored. A retry must resend exactly the original batch; new events need new ids.`,
      { status: 409, details: { streamId, stored, total } },
    );
  }
}
