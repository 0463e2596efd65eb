/** Thrown out of an abortable wait when the loop is stopping. */
export class Stopping extends Error {
  constructor() {
    super('stopping');
    this.name = 'Stopping';
  }
}

/** Waits ms, or rejects with Stopping as soon as the signal aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Stopping());
    const onAbort = () => {
      clearTimeout(timer);
      reject(new Stopping());
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Like sleep, but resolves (does not throw) when stopping: for idle waits. */
export async function idle(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleep(ms, signal);
  } catch (err) {
    if (!(err instanceof Stopping)) throw err;
  }
}

/**
 * Lets idle runners be woken early (an append notification) instead of waiting out their
 * poll interval. wait() resolves on timeout, on wake(), or quietly when stopping.
 *
 * A wake-up that comes while a runner is busy (reading a batch, refreshing its lag) is not
 * lost: the runner takes `seen()` before it reads, and wait(ms, signal, since) returns at
 * once when a wake-up came after that. Without it, an append notified between the runner's
 * read and its wait sat unread for a whole poll interval.
 */
export function createWaker() {
  const waiting = new Set<() => void>();
  let wakes = 0;
  return {
    /**
     * Set once append notifications arrive (LISTEN took effect): runners then poll only as a
     * fallback, less often (runner.ts, listeningPollMs).
     */
    listening: false,
    wake(): void {
      wakes++;
      for (const resolve of [...waiting]) resolve();
    },
    /** How many wake-ups so far: take it before reading, pass it to wait(). */
    seen(): number {
      return wakes;
    },
    wait(ms: number, signal: AbortSignal, since?: number): Promise<void> {
      return new Promise((resolve) => {
        if (signal.aborted || (since !== undefined && wakes !== since)) return resolve();
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          waiting.delete(done);
          resolve();
        };
        const timer = setTimeout(done, ms);
        signal.addEventListener('abort', done, { once: true });
        waiting.add(done);
      });
    },
  };
}

export type Waker = ReturnType<typeof createWaker>;
