import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startTraffic } from '../../examples/legacy-orders/traffic.ts';
import { until } from '../e2e/fixtures/wait.ts';
import { seededRandom } from '../helpers/seed.ts';

// The demo's traffic gives the shadow something to compare: reads of orders it created, order
// lists and a missing id, each request with the sticky key of the simulated user sending it.
interface Seen {
  method: string;
  url: string;
  user: string | undefined;
  customerId?: string;
}

let server: http.Server | undefined;
afterEach(async () => {
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = undefined;
});

/** Answers like the sample: POST /orders → 201 with a new id; the rest 200 (or 404 for an unknown id). */
async function recordingUpstream(seen: Seen[]): Promise<string> {
  let n = 0;
  const ids = new Set<string>();
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const user = req.headers['x-user-id'] as string | undefined;
      const parsed = body ? (JSON.parse(body) as { customerId?: string }) : {};
      seen.push({
        method: req.method!,
        url: req.url!,
        user,
        ...(parsed.customerId !== undefined ? { customerId: parsed.customerId } : {}),
      });
      res.setHeader('content-type', 'application/json');
      if (req.method === 'POST' && req.url === '/orders' && parsed.customerId) {
        const id = `ord_${String(++n).padStart(16, '0')}`;
        ids.add(id);
        res.writeHead(201).end(JSON.stringify({ id }));
      } else if (req.method === 'GET' && req.url!.startsWith('/orders/') && !ids.has(req.url!.slice(8))) {
        res.writeHead(404).end(JSON.stringify({ error: 'not_found' }));
      } else res.writeHead(200).end('{}');
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('the demo traffic (examples/legacy-orders/traffic.ts)', () => {
  it('reads orders it created, order lists and a missing id, with a sticky key per simulated user', async () => {
    const seen: Seen[] = [];
    const traffic = startTraffic({ baseUrl: await recordingUpstream(seen), intervalMs: 2, random: seededRandom('demo traffic') });
    await until(() => seen.length >= 400, 'the traffic generator to send 400 requests', 30_000);
    await traffic.stop();

    const created = new Set(
      seen
        .filter((s) => s.method === 'POST' && s.url === '/orders' && s.customerId)
        .map((_, i) => `ord_${String(i + 1).padStart(16, '0')}`),
    );
    const gets = seen.filter((s) => s.method === 'GET');
    const byId = gets.filter((s) => /^\/orders\/ord_/.test(s.url));
    const lists = gets.filter((s) => s.url.startsWith('/orders?customerId=cust-'));
    expect(byId.filter((s) => created.has(s.url.slice(8))).length).toBeGreaterThan(20);
    expect(byId.some((s) => !created.has(s.url.slice(8)))).toBe(true); // the missing id
    expect(lists.length).toBeGreaterThan(10);
    expect(traffic.stats.reads).toBe(gets.length);
    // Every request carries a user's key; several users; a user's orders are its own customer's.
    expect(seen.every((s) => typeof s.user === 'string' && s.user !== '')).toBe(true);
    expect(new Set(seen.map((s) => s.user)).size).toBeGreaterThanOrEqual(4);
    const customerOf = new Map<string, Set<string>>();
    for (const s of seen.filter((x) => x.customerId)) customerOf.set(s.user!, (customerOf.get(s.user!) ?? new Set()).add(s.customerId!));
    expect([...customerOf.values()].every((c) => c.size === 1)).toBe(true);
  });
});
