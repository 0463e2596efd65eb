import { StranglerError } from '../../errors/StranglerError.ts';

/**
 * The compare-and-set of a batch found the checkpoint moved or the lease taken: another
 * runner (or an operator, or a rebuild's swap) got there first. The batch is rolled back,
 * never retried on the stale state: the runner re-claims and re-reads.
 */
export class LeaseLostError extends StranglerError {
  constructor(projection: string, reason: string) {
    super('projection_lease_lost', `Projection "${projection}": ${reason}; the batch was rolled back.`, {
      status: 409,
      details: { projection },
    });
  }
}

export class UnknownProjectionError extends StranglerError {
  constructor(name: string, known: readonly string[]) {
    super(
      'usage',
      `Unknown projection "${name}". Known: ${known.length ? known.join(', ') : '(none registered yet: start the runners first)'}.`,
      { status: 404 },
    );
  }
}

/** An operator command that does not fit the projection's state (skip when nothing failed). */
export class ProjectionStateError extends StranglerError {
  constructor(message: string) {
    super('projection_state', message, { status: 409 });
  }
}

/** A handler (or upcaster) failure with the event it failed on. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' && code.length > 0 && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}
