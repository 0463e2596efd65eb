import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createQuietQueue } from '../../src/canary/shadow/quietQueue.ts';
import { createClientActivity, type ClientActivity } from '../../src/proxy/clientActivity.ts';
import { until } from '../e2e/fixtures/wait.ts';

// When the shadow's comparisons start: at a moment with no client request in flight, one at
// a time, or once they have waited maxDeferMs. Responses are stand-ins that emit 'close'.

const response = () => new EventEmitter() as unknown as ServerResponse;
const turns = async (n = 5) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

/** A task that records its start and settles when told to. */
function task(log: string[], name: string) {
  let finish!: () => void;
  const settled = new Promise<void>((r) => (finish = r));
  return {
    run: () => {
      log.push(name);
      return settled;
    },
    finish: () => finish(),
  };
}

function tracking(): ClientActivity {
  const activity = createClientActivity();
  activity.tracking = true;
  return activity;
}

describe('client activity', () => {
  it('counts tracked responses until they close, and tells its listeners each time the count falls to 0', () => {
    const activity = tracking();
    let quiet = 0;
    activity.onQuiet(() => quiet++);
    const [a, b] = [response(), response()];
    activity.track(a);
    activity.track(b);
    expect(activity.inFlight).toBe(2);
    a.emit('close');
    expect({ inFlight: activity.inFlight, quiet }).toEqual({ inFlight: 1, quiet: 0 });
    b.emit('close');
    b.emit('close'); // once per response
    expect({ inFlight: activity.inFlight, quiet }).toEqual({ inFlight: 0, quiet: 1 });
  });
});

describe('quiet queue', () => {
  it('waits while a client request is in flight, and starts when its response closes', async () => {
    const activity = tracking();
    const queue = createQuietQueue({ activity, maxDeferMs: 60_000 });
    const log: string[] = [];
    const res = response();
    activity.track(res);
    const t = task(log, 'a');
    queue.run(t.run);
    await turns();
    expect({ log, waiting: queue.waiting }).toEqual({ log: [], waiting: 1 });
    res.emit('close');
    await turns();
    expect({ log, waiting: queue.waiting }).toEqual({ log: ['a'], waiting: 0 });
    t.finish();
  });

  it('runs one task at a time while quiet: the next starts when the one before settles', async () => {
    const queue = createQuietQueue({ activity: tracking(), maxDeferMs: 60_000 });
    const log: string[] = [];
    const tasks = ['a', 'b', 'c'].map((n) => task(log, n));
    for (const t of tasks) queue.run(t.run);
    await turns();
    expect(log).toEqual(['a']);
    tasks[0]!.finish();
    await turns();
    expect(log).toEqual(['a', 'b']);
    tasks[1]!.finish();
    await turns();
    expect(log).toEqual(['a', 'b', 'c']);
    tasks[2]!.finish();
  });

  it('a task that fails does not stop the queue', async () => {
    const queue = createQuietQueue({ activity: tracking(), maxDeferMs: 60_000 });
    const log: string[] = [];
    queue.run(async () => {
      log.push('fails');
      throw new Error('boom');
    });
    const next = task(log, 'next');
    queue.run(next.run);
    await turns();
    expect(log).toEqual(['fails', 'next']);
    next.finish();
  });

  it('starts a task that waited maxDeferMs although the port never went quiet, and all overdue ones at once', async () => {
    const activity = tracking();
    const queue = createQuietQueue({ activity, maxDeferMs: 30 });
    activity.track(response()); // never closes: a long poll
    const log: string[] = [];
    const tasks = ['a', 'b'].map((n) => task(log, n));
    for (const t of tasks) queue.run(t.run);
    await turns();
    expect(log).toEqual([]);
    await until(() => log.length === 2, 'both overdue tasks to start', 10_000, 5);
    expect(queue.waiting).toBe(0);
    for (const t of tasks) t.finish();
  });

  it('over maxWaiting, the oldest waiting task starts at once: constant load compares everything, as before', async () => {
    const activity = tracking();
    const queue = createQuietQueue({ activity, maxDeferMs: 60_000, maxWaiting: 2 });
    activity.track(response()); // busy for good
    const log: string[] = [];
    const tasks = ['a', 'b', 'c', 'd'].map((n) => task(log, n));
    for (const t of tasks) queue.run(t.run);
    expect({ log, waiting: queue.waiting }).toEqual({ log: ['a', 'b'], waiting: 2 });
    queue.flush();
    for (const t of tasks) t.finish();
  });

  it('starts at once, side by side, when nothing is tracked (no entity compared) or maxDeferMs is 0', async () => {
    const idle = createClientActivity(); // tracking off: requests are not counted at all
    const zero = tracking();
    zero.track(response());
    for (const [label, queue] of [
      ['not tracking', createQuietQueue({ activity: idle, maxDeferMs: 60_000 })],
      ['maxDeferMs 0', createQuietQueue({ activity: zero, maxDeferMs: 0 })],
      ['no activity', createQuietQueue({ activity: null, maxDeferMs: 60_000 })],
    ] as const) {
      const log: string[] = [];
      const tasks = ['a', 'b'].map((n) => task(log, n));
      for (const t of tasks) queue.run(t.run);
      await turns();
      expect({ label, log }).toEqual({ label, log: ['a', 'b'] });
      for (const t of tasks) t.finish();
    }
  });

  it('flush() starts every waiting task now (shutdown)', async () => {
    const activity = tracking();
    const queue = createQuietQueue({ activity, maxDeferMs: 60_000 });
    activity.track(response());
    const log: string[] = [];
    const tasks = ['a', 'b'].map((n) => task(log, n));
    for (const t of tasks) queue.run(t.run);
    await turns();
    expect(log).toEqual([]);
    queue.flush();
    expect({ log, waiting: queue.waiting }).toEqual({ log: ['a', 'b'], waiting: 0 });
    for (const t of tasks) t.finish();
  });
});
