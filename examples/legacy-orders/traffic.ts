/**
 * A small traffic generator for the demo: a few customers creating orders, adding items,
 * paying or cancelling, and reading them back, through the sidecar's public port. It also
 * sends an invalid order now and then (legacy answers 400; no event is recorded).
 */
export interface TrafficStats {
  requests: number;
  commands2xx: number;
  rejected4xx: number;
  failed: number;
}

export function startTraffic(opts: { baseUrl: string; intervalMs?: number; random?: () => number }) {
  const random = opts.random ?? Math.random;
  const stats: TrafficStats = { requests: 0, commands2xx: 0, rejected4xx: 0, failed: 0 };
  const open: string[] = [];
  const pickOne = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)]!;
  let stopped = false;
  let inFlight: Promise<void> = Promise.resolve();

  async function send(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    stats.requests++;
    try {
      const res = await fetch(opts.baseUrl + path, {
        method,
        headers: { 'content-type': 'application/json', 'x-user-id': pickOne(['ana', 'bo', 'chen', 'dee']) },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
      const text = await res.text();
      if (method !== 'GET') {
        if (res.status < 300) stats.commands2xx++;
        else if (res.status < 500) stats.rejected4xx++;
        else stats.failed++;
      }
      return { status: res.status, json: text ? JSON.parse(text) : null };
    } catch {
      stats.failed++;
      return { status: 0, json: null };
    }
  }

  async function step(): Promise<void> {
    const r = random();
    if (open.length < 3 || r < 0.3) {
      const items = Array.from({ length: 1 + Math.floor(random() * 3) }, (_, i) => ({
        sku: `SKU-${100 + Math.floor(random() * 20)}-${i}`,
        quantity: 1 + Math.floor(random() * 3),
        price: (1 + Math.floor(random() * 5000) / 100).toFixed(2),
      }));
      const created = await send('POST', '/orders', { customerId: pickOne(['cust-1', 'cust-2', 'cust-3']), items });
      const id = (created.json as { id?: string } | null)?.id;
      if (id) open.push(id);
    } else if (r < 0.5) {
      await send('POST', `/orders/${pickOne(open)}/items`, { sku: `EXTRA-${Math.floor(random() * 1000)}`, quantity: 1, price: '4.50' });
    } else if (r < 0.65) {
      await send('POST', `/orders/${open.splice(Math.floor(random() * open.length), 1)[0]}/pay`);
    } else if (r < 0.72) {
      await send('POST', `/orders/${open.splice(Math.floor(random() * open.length), 1)[0]}/cancel`);
    } else if (r < 0.95) {
      await send('GET', `/orders/${pickOne(open)}`);
    } else {
      await send('POST', '/orders', { customerId: '', items: [] }); // invalid: legacy's own 400
    }
  }

  const timer = setInterval(() => {
    if (stopped) return;
    inFlight = inFlight.then(step);
  }, opts.intervalMs ?? 400);

  return {
    stats,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await inFlight;
    },
  };
}
