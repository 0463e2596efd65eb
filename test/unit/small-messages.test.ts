import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main, type CliIo } from '../../src/cli/main.ts';
import { runDoctor } from '../../src/doctor/index.ts';
import { openEventStore, type EventStore } from '../../src/eventstore/index.ts';
import type { RecordedEvent } from '../../src/eventstore/types.ts';
import { parseRepaired } from '../../examples/legacy-orders/projections/orders/events.ts';

async function cli(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (l) => out.push(l), err: (l) => err.push(l), env: {} };
  const code = await main(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** A loopback port nothing listens on. */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

describe('strangler selfcheck against a database it cannot reach', () => {
  it('prints one line (what, where, what to do) and no stack trace', async () => {
    const port = await closedPort();
    const r = await cli(['selfcheck', '--url', `postgres://strangler:secret@127.0.0.1:${port}/events`]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      `Cannot connect to the event store at postgres://strangler:***@127.0.0.1:${port}/events: nothing accepts connections on 127.0.0.1:${port} (ECONNREFUSED). ` +
        'Check that PostgreSQL runs there and the URL is right (--url, STRANGLER_EVENTSTORE_URL or eventStore.url).',
    );
  });

  it('names a host that does not resolve', async () => {
    const r = await cli(['selfcheck', '--url', 'postgres://strangler@no-such-host.invalid:5432/events']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /^Cannot connect to the event store at postgres:\/\/strangler@no-such-host\.invalid:5432\/events: host no-such-host\.invalid /,
    );
    expect(r.err.split('\n')).toHaveLength(1);
  });
});

describe('the doctor on a projection paused by an event missing a field', () => {
  let store: EventStore;
  beforeAll(async () => {
    store = await openEventStore({ url: 'memory', migrate: true });
  }, 60_000);
  afterAll(async () => {
    await store?.close();
  });

  it('says which field is missing, in one sentence: no "got undefined..", no double period', async () => {
    const event: RecordedEvent = {
      position: 1,
      streamId: 'orders-ord_1',
      version: 2,
      id: '0190d6a0-0000-7000-8000-000000000001',
      type: 'StranglerRowRepaired',
      data: { customer_id: 'c-1', status: 'PAID', total_amount: '9.99', created_at: '2024-03-02T01:01:07.000010Z' },
      metadata: {},
      recordedAt: '2024-03-02T01:01:08.000000Z',
      transactionId: '1',
    };
    let lastError = '';
    try {
      parseRepaired(event);
    } catch (err) {
      lastError = (err as Error).message;
    }
    expect(lastError).toBe(
      `StranglerRowRepaired ${event.id} (stream orders-ord_1, version 2): updated_at is missing (expected an ISO 8601 time with a zone like "2024-03-02T01:01:07.000010Z").`,
    );

    await store.db.query(
      `INSERT INTO strangler_projections (name, version, checkpoint_tx, checkpoint_pos, status, failed_event_id, failed_position, last_error)
       VALUES ('orders', 1, '0', 0, 'paused', $1, 1, $2)`,
      [event.id, lastError],
    );
    const report = await runDoctor(store.db);
    const paused = report.findings.find((f) => f.kind === 'projection_paused');
    expect(paused?.message).toBe(
      `orders is paused at event ${event.id} (position 1): ${lastError} Fix the cause, then \`strangler projections resume orders\` (or \`skip\` to dead-letter it)`,
    );
    expect(paused?.message).not.toMatch(/undefined|\.\./);
  });
});
