import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createKeyLock } from '../../src/proxy/keyLock.ts';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('createKeyLock', () => {
  it('runs work on the same key one at a time, in the order it arrived', async () => {
    const lock = createKeyLock();
    const log: string[] = [];
    // The first job is the slowest: without the lock its end would come last.
    const job = (name: string, ms: number) =>
      lock.run('orders-1', async () => {
        log.push(`start ${name}`);
        await delay(ms);
        log.push(`end ${name}`);
        return name;
      });
    const results = await Promise.all([job('a', 30), job('b', 10), job('c', 1)]);
    expect(results).toEqual(['a', 'b', 'c']);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
    expect(lock.size).toBe(0);
  });

  it('different keys never wait on each other', async () => {
    const lock = createKeyLock();
    const blockA = deferred();
    const a = lock.run('orders-a', () => blockA.promise.then(() => 'a'));
    // If key b waited behind key a, this would never finish: only b's completion releases a.
    const b = await lock.run('orders-b', async () => 'b');
    expect(b).toBe('b');
    expect(lock.size).toBe(1);
    blockA.resolve();
    expect(await a).toBe('a');
    expect(lock.size).toBe(0);
  });

  it('a failing job releases the key for the next one and keeps its own error', async () => {
    const lock = createKeyLock();
    const first = lock.run('k', async () => {
      await delay(5);
      throw new Error('legacy down');
    });
    const second = lock.run('k', async () => 'ran');
    await expect(first).rejects.toThrow('legacy down');
    expect(await second).toBe('ran');
    expect(lock.size).toBe(0);
  });

  it('a key queued behind a running job does not start until that job ends', async () => {
    const lock = createKeyLock();
    const gate = deferred();
    let secondStarted = false;
    const first = lock.run('k', () => gate.promise);
    const second = lock.run('k', async () => {
      secondStarted = true;
    });
    await delay(10);
    expect(secondStarted).toBe(false);
    gate.resolve();
    await Promise.all([first, second]);
    expect(secondStarted).toBe(true);
  });
});
