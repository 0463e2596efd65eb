import { describe, expect, it } from 'vitest';
import { createWaker } from '../../src/projections/runner/sleep.ts';

const timed = async (p: Promise<void>) => {
  const t0 = performance.now();
  await p;
  return performance.now() - t0;
};

describe('the projection waker', () => {
  it('a wake-up that came while the runner was busy ends its next wait at once', async () => {
    const waker = createWaker();
    const seen = waker.seen(); // the runner starts reading a batch
    waker.wake(); // an append is notified before it waits
    expect(await timed(waker.wait(5_000, new AbortController().signal, seen))).toBeLessThan(1_000);
  });

  it('without a wake-up since it looked, the wait lasts its interval', async () => {
    const waker = createWaker();
    waker.wake(); // before the runner looked: already covered by its read
    const seen = waker.seen();
    expect(await timed(waker.wait(150, new AbortController().signal, seen))).toBeGreaterThanOrEqual(140);
  });

  it('wakes every runner waiting on it', async () => {
    const waker = createWaker();
    const signal = new AbortController().signal;
    const waits = [waker.wait(5_000, signal, waker.seen()), waker.wait(5_000, signal, waker.seen())];
    setTimeout(() => waker.wake(), 20);
    expect(await timed(Promise.all(waits).then(() => {}))).toBeLessThan(1_000);
  });

  it('stopping ends a wait quietly', async () => {
    const waker = createWaker();
    const abort = new AbortController();
    const wait = waker.wait(5_000, abort.signal, waker.seen());
    abort.abort();
    expect(await timed(wait)).toBeLessThan(1_000);
  });
});
