/**
 * A small traffic generator for the demo: a few users, each with a customer account, creating
 * orders, adding items, paying or cancelling, and reading orders and their order lists back,
 * through the sidecar's public port. Every request carries the user's sticky key (x-user-id),
 * so a canary moves whole users to the read model; the reads give the shadow comparison
 * something to compare (an unknown id too, whose 404 must match). It also sends an invalid
 * order now and then (legacy answers 400; no event is recorded).
 */
export interface TrafficStats {
  requests: number;
  commands2xx: number;
  rejected4xx: number;
  /** GET /orders/:id and GET /orders?customerId= sent (answered or not). */
  reads: number;
  failed: number;
}

/** The simulated users: each sends its own x-user-id and orders for its own customer. */
const USERS = ['ana', 'bo', 'chen', 'dee', 'eli', 'fay'].map((name, i) => ({ name, customerId: `cust-${i + 1}` }));

export function startTraffic(opts: { baseUrl: string; intervalMs?: number; random?: () => number }) {
  const random = opts.random ?? Math.random;
  const stats: TrafficStats = { requests: 0, commands2xx: 0, rejected4xx: 0, reads: 0, failed: 0 };
  /** Orders still open (commands go there) and every order created (reads go there too). */
  const open: string[] = [];
  const created: string[] = [];
  const pickOne = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)]!;
  let stopped = false;
  let inFlight: Promise<void> = Promise.resolve();

  async function send(user: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    stats.requests++;
    if (method === 'GET') stats.reads++;
    try {
      const res = await fetch(opts.baseUrl + path, {
        method,
        headers: { 'content-type': 'application/json', 'x-user-id': user },
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
    const user = pickOne(USERS);
    const r = random();
    if (open.length < 3 || r < 0.25) {
      const items = Array.from({ length: 1 + Math.floor(random() * 3) }, (_, i) => ({
        sku: `SKU-${100 + Math.floor(random() * 20)}-${i}`,
        quantity: 1 + Math.floor(random() * 3),
        price: (1 + Math.floor(random() * 5000) / 100).toFixed(2),
      }));
      const res = await send(user.name, 'POST', '/orders', { customerId: user.customerId, items });
      const id = (res.json as { id?: string } | null)?.id;
      if (id) {
        open.push(id);
        created.push(id);
      }
    } else if (r < 0.38) {
      await send(user.name, 'POST', `/orders/${pickOne(open)}/items`, {
        sku: `EXTRA-${Math.floor(random() * 1000)}`,
        quantity: 1,
        price: '4.50',
      });
    } else if (r < 0.48) {
      await send(user.name, 'POST', `/orders/${open.splice(Math.floor(random() * open.length), 1)[0]}/pay`);
    } else if (r < 0.53) {
      await send(user.name, 'POST', `/orders/${open.splice(Math.floor(random() * open.length), 1)[0]}/cancel`);
    } else if (r < 0.78) {
      await send(user.name, 'GET', `/orders/${pickOne(created)}`);
    } else if (r < 0.92) {
      await send(user.name, 'GET', `/orders?customerId=${pickOne(USERS).customerId}`);
    } else if (r < 0.95) {
      await send(user.name, 'GET', '/orders/ord_0000000000000000'); // no such order: legacy's 404
    } else {
      await send(user.name, 'POST', '/orders', { customerId: '', items: [] }); // invalid: legacy's own 400
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
