import { randomUUID } from 'node:crypto';
import { openEventStore } from '../eventstore/index.ts';
import { START } from '../eventstore/types.ts';

/**
 * Exercises the event store end to end (migrate, append with OCC, idempotent retry, read
 * back) and prints what it saw. Defaults to the embedded store, so it needs no server.
 */
export async function runSelfCheck(opts: { url: string; out: (line: string) => void }): Promise<number> {
  const { out } = opts;
  const t0 = performance.now();
  const store = await openEventStore({ url: opts.url, migrate: true });
  try {
    out(`event store: ${store.description}, epoch ${await store.epoch()}`);
    const stream = `selfcheck-${randomUUID()}`;
    const ids = [randomUUID(), randomUUID()];
    const first = await store.append(
      stream,
      [
        { id: ids[0], type: 'SelfCheckStarted', data: { at: new Date().toISOString() } },
        { id: ids[1], type: 'SelfCheckPassed', data: {} },
      ],
      { expected: 'no_stream' },
    );
    const retry = await store.append(
      stream,
      [
        { id: ids[0], type: 'SelfCheckStarted', data: {} },
        { id: ids[1], type: 'SelfCheckPassed', data: {} },
      ],
      { expected: 'no_stream' },
    );
    const conflict = await store.append(stream, [{ type: 'Late', data: {} }], { expected: 1 }).then(
      () => 'none',
      (e: Error) => e.constructor.name,
    );
    const events = await store.readStream(stream);
    let seen = 0;
    for (let cp = START; ;) {
      const b = await store.readAll({ after: cp, limit: 500 });
      if (b.events.length === 0) break;
      seen += b.events.length;
      cp = b.checkpoint;
    }
    const checks: [string, boolean][] = [
      ['append to a new stream (versions 1..2)', first.events.map((e) => e.version).join(',') === '1,2'],
      ['idempotent retry stores nothing new', retry.replayed && retry.events[1]!.position === first.events[1]!.position],
      ['wrong expected version is a ConcurrencyError', conflict === 'ConcurrencyError'],
      ['stream reads back in order', events.map((e) => e.type).join(',') === 'SelfCheckStarted,SelfCheckPassed'],
      ['global log readable to the head', seen === (await store.headPosition())],
    ];
    for (const [name, ok] of checks) out(`  ${ok ? 'ok  ' : 'FAIL'} ${name}`);
    const failed = checks.filter(([, ok]) => !ok).length;
    out(
      `${failed === 0 ? 'self-check passed' : `${failed} check(s) FAILED`} in ${(performance.now() - t0).toFixed(0)} ms (${seen} events in the log)`,
    );
    return failed === 0 ? 0 : 1;
  } finally {
    await store.close();
  }
}
