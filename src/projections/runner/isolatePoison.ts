import type { RecordedEvent } from '../../eventstore/types.ts';
import { ApplyError } from './applyEvents.ts';
import { describeError } from './errors.ts';
import { sleep } from './sleep.ts';

export interface IsolationOptions {
  /** Commits one (sub-)batch; throws ApplyError when a handler fails, anything else otherwise. */
  commit(events: readonly RecordedEvent[]): Promise<void>;
  /** Records the poison event (pause_and_alert). */
  pause(event: RecordedEvent, error: string, retries: number): Promise<void>;
  /** Retries of a single failing event before pausing. */
  maxRetries: number;
  /** First retry delay; doubles each retry. */
  retryBackoffMs: number;
  onFailure(kind: 'retry' | 'pause', err: unknown, events: readonly RecordedEvent[]): void;
  signal: AbortSignal;
}

export type BatchOutcome = 'applied' | 'paused';

/**
 * Commits a batch; when a handler fails, halves the batch and commits each half, down to
 * the single poison event, so every good event before it still lands. That one event is
 * retried with exponential backoff (a deadlock or a lock timeout passes), then the
 * projection pauses on it. Never a silent skip: the events after a poison one wait until
 * an operator resumes or skips it.
 *
 * Errors that are not ApplyError (the database gone, the lease lost) are not the events'
 * fault: they propagate untouched and the runner re-reads from its checkpoint.
 */
export async function commitIsolatingPoison(events: readonly RecordedEvent[], o: IsolationOptions): Promise<BatchOutcome> {
  try {
    await o.commit(events);
    return 'applied';
  } catch (err) {
    if (!(err instanceof ApplyError)) throw err;
    o.onFailure('retry', err.causeError, events);
    if (events.length > 1) {
      const mid = Math.ceil(events.length / 2);
      if ((await commitIsolatingPoison(events.slice(0, mid), o)) === 'paused') return 'paused';
      return commitIsolatingPoison(events.slice(mid), o);
    }
    return retryOne(events, err, o);
  }
}

async function retryOne(events: readonly RecordedEvent[], first: ApplyError, o: IsolationOptions): Promise<BatchOutcome> {
  let last = first;
  for (let attempt = 1; attempt <= o.maxRetries; attempt++) {
    await sleep(o.retryBackoffMs * 2 ** (attempt - 1), o.signal);
    try {
      await o.commit(events);
      return 'applied';
    } catch (err) {
      if (!(err instanceof ApplyError)) throw err;
      last = err;
      if (attempt < o.maxRetries) o.onFailure('retry', err.causeError, events);
    }
  }
  const event = events[0]!;
  o.onFailure('pause', last.causeError, events);
  await o.pause(event, describeError(last.causeError), o.maxRetries);
  return 'paused';
}
