import type { ClientActivity } from '../../proxy/clientActivity.ts';

/**
 * When the shadow's comparisons run: at a moment when no client request is in flight on the
 * public port, one at a time, so that the read model's query and the comparison take the
 * CPU (the sidecar's, and the database's on a shared node) while no client is waiting on it.
 * Run as soon as legacy had answered, a comparison overlapped the next client requests
 * and added about 0.4 ms to their median on a 2-core machine (bench/canary,
 * shadow_added_p50_ms). A comparison that waited `maxDeferMs` starts anyway, and so does the
 * oldest one when `maxWaiting` wait already: a port that is never quiet (constant load, long
 * polls) still compares, at the old cost, instead of shedding what waited.
 *
 * Without activity tracking (no entity in shadow or canary when the read was tapped) or with
 * maxDeferMs 0, a task starts on the next turn of the event loop, as before.
 */
export interface QuietQueue {
  /** Starts `task` at the next quiet moment (or after maxDeferMs). Its promise must settle. */
  run(task: () => Promise<unknown>): void;
  /** Tasks not started yet. */
  readonly waiting: number;
  /** Starts every waiting task now (shutdown: they see their abort signal and end). */
  flush(): void;
}

export interface QuietQueueOptions {
  activity: ClientActivity | null;
  maxDeferMs: number;
  /** Tasks held waiting at most; one more starts the oldest at once. Default unbounded. */
  maxWaiting?: number;
}

export function createQuietQueue(opts: QuietQueueOptions): QuietQueue {
  const { activity, maxDeferMs } = opts;
  const maxWaiting = opts.maxWaiting ?? Infinity;
  const now = () => performance.now();
  const queue: { task: () => Promise<unknown>; at: number }[] = [];
  let running = 0;
  let timer: NodeJS.Timeout | undefined;
  let pumpScheduled = false;

  const start = (task: () => Promise<unknown>) => {
    running++;
    const done = () => {
      running--;
      pump();
    };
    task().then(done, done);
  };
  const armTimer = () => {
    if (timer !== undefined || queue.length === 0) return;
    timer = setTimeout(overdue, Math.max(0, queue[0]!.at + maxDeferMs - now()));
    timer.unref();
  };
  const pump = () => {
    if (queue.length > 0 && running === 0 && (activity?.inFlight ?? 0) === 0) start(queue.shift()!.task);
    armTimer();
  };
  const overdue = () => {
    timer = undefined;
    const t = now();
    while (queue.length > 0 && t - queue[0]!.at >= maxDeferMs) start(queue.shift()!.task);
    armTimer();
  };
  const schedulePump = () => {
    if (pumpScheduled) return;
    pumpScheduled = true;
    // Next turn: the response that just closed (or the tap that just finished) is done with.
    setImmediate(() => {
      pumpScheduled = false;
      pump();
    });
  };
  activity?.onQuiet(() => {
    if (queue.length > 0) schedulePump();
  });

  return {
    run(task) {
      if (activity === null || !activity.tracking || maxDeferMs === 0) {
        setImmediate(() => void task().catch(() => undefined));
        return;
      }
      if (queue.length >= maxWaiting) start(queue.shift()!.task);
      queue.push({ task, at: now() });
      schedulePump();
    },
    get waiting() {
      return queue.length;
    },
    flush() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      while (queue.length > 0) start(queue.shift()!.task);
    },
  };
}
