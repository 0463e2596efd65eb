/**
 * Canary reads on two sidecar PROCESSES (`strangler start`, each with its own copy of the
 * sample spec) sharing one PostgreSQL event store, in front of the sample legacy service:
 *
 * 1. A change made through process A's admin API (promote: shadow, 10, 25, 50 %, complete) is
 *    applied by process B: the time from A's 200 until B's GET /admin/canary shows it is
 *    measured and printed against the 1 s target (never asserted). B's audit names actor,
 *    reason, before and after.
 * 2. At each step the same keys sent to both processes are routed the same way
 *    (X-Strangler-Source), exactly as the key's bucket says, and monotonically: a key on the
 *    read model at 10 % is still there at 25 %. The ±0.5 point share over 100,000 keys is
 *    test/unit/canary-router.test.ts's; the KEYS read here over HTTP are too few for it (the
 *    share's standard error at 50 % is about 1.1 points), so the share is printed, not checked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketOf } from '../../src/canary/stickyRouter.ts';
import { startPostgres, type PgServer } from '../harness/servers.ts';
import { seededRandom } from '../helpers/seed.ts';
import { createSidecarProcess, type SidecarProcess } from './fixtures/sidecarProcess.ts';
import { closeAll, startLegacy, tempDir, type Legacy } from './fixtures/stack.ts';
import { until } from './fixtures/wait.ts';

type TempDir = Awaited<ReturnType<typeof tempDir>>;

const OPERATOR = 'procs-operator-token';
const KEYS = 2_000;
const ORDERS = 12;
const STEPS = ['shadow:0', 'canary:10', 'canary:25', 'canary:50', 'complete:100'];

/** GET or POST on an admin port with the operator token; the JSON answer. */
async function admin(base: string, method: 'GET' | 'POST', path: string, body?: unknown) {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${OPERATOR}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function stateOf(base: string): Promise<string> {
  const r = await admin(base, 'GET', '/admin/canary');
  const s = (r.body['entities'] as Record<string, { stage: string; percent: number }>)['orders']!;
  return `${s.stage}:${s.percent}`;
}

/** Runs `fn` over `items` with at most `n` at once. */
async function pool<T>(items: readonly T[], n: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}

describe('canary state and routing on two sidecar processes', () => {
  let server: PgServer | undefined;
  let legacy: Legacy | undefined;
  const dirs: TempDir[] = [];
  const procs: SidecarProcess[] = [];
  const orderIds: string[] = [];
  const rand = seededRandom('canary processes');
  const keys = Array.from({ length: KEYS }, (_, i) => `user-${rand.int(0, 1e9)}-${i}`);

  beforeAll(async () => {
    server = await startPostgres();
    legacy = await startLegacy('postgres');
    for (const name of ['a', 'b']) {
      const dir = await tempDir(`strangler-e2e-canary-${name}-`);
      dirs.push(dir);
      const proc = await createSidecarProcess({
        dir: dir.path,
        spoolDir: `${dir.path}/spool`,
        upstream: legacy.url,
        eventStoreUrl: server.url,
        // A write spooled by one process is not in the store yet, so the projection cannot
        // apply it: on a loaded machine the default 250 ms would spool some of the creates.
        appendTimeoutMs: 10_000,
        env: { STRANGLER_ADMIN_TOKEN: OPERATOR },
        spec: (spec) => {
          spec.admin = { ...spec.admin, tokens: [{ name: 'ops', role: 'operator', env: 'STRANGLER_ADMIN_TOKEN' }] };
          // A read-model answer slower than the default 250 ms would be answered by legacy and
          // blur the routing checked here (the timeout itself: canary-read-path.test.ts).
          // The guard only evaluates (what it would have done is printed): thousands of reads on
          // a loaded machine can push the read_latency gate (read-model p99 / legacy p99 > 1.5)
          // over its threshold, and its rollback (in shadow: a pause, so the next promotion is
          // refused) would move the canary under the test. Its reactions are guard-e2e's subject.
          spec.canary = { ...spec.canary, sourceHeader: true, readTimeoutMs: 10_000 };
          spec.rollback = { ...spec.rollback, dryRun: true };
        },
      });
      procs.push(proc);
      await proc.start();
    }
  });

  afterAll(async () => {
    await closeAll(
      ...procs.map((p) => () => p.dispose()),
      async () => legacy?.close(),
      async () => server?.destroy(),
      ...dirs.map((d) => () => d.remove()),
    );
  });

  it('orders created through A are projected (GET /admin/projections on B: caught up)', async () => {
    const [a, b] = [procs[0]!, procs[1]!];
    for (let i = 0; i < ORDERS; i++) {
      const res = await fetch(`${a.publicUrl}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ customerId: `cust-${i % 3}`, items: [{ sku: `SKU-${i}`, quantity: 1 + (i % 4), price: '12.50' }] }),
      });
      const body = (await res.json()) as { id?: string };
      expect(res.status, JSON.stringify(body)).toBe(201);
      orderIds.push(body.id!);
    }
    let last: unknown;
    await until(
      async () => {
        const r = await admin(b.adminUrl, 'GET', '/admin/projections');
        const list = r.body['projections'] as { name: string; state: string; appliedEvents: number; lagEvents: number }[];
        last = list;
        return list.length > 0 && list.every((p) => p.state === 'running' && p.lagEvents === 0 && p.appliedEvents >= ORDERS);
      },
      `the projection to apply ${ORDERS} creates`,
      60_000,
      50,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last seen: ${JSON.stringify(last)}`);
    });
  });

  it('each step through A: B applies it (time printed against the 1 s target); the same keys route the same on both, monotonically', async () => {
    const [a, b] = [procs[0]!, procs[1]!];
    expect(orderIds).toHaveLength(ORDERS);
    expect(await stateOf(b.adminUrl)).toBe('dual_write:0');
    const lags: string[] = [];
    let previous: boolean[] | undefined;
    for (const [i, step] of STEPS.entries()) {
      const r = await admin(a.adminUrl, 'POST', '/admin/canary/orders/promote', { reason: `step ${i}: ${step}` });
      const answered = performance.now();
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      const after = r.body['after'] as { stage: string; percent: number };
      expect(`${after.stage}:${after.percent}`).toBe(step);
      await until(async () => (await stateOf(b.adminUrl)) === step, `process B at ${step}. Log of B:\n${b.log()}`, 30_000, 5);
      lags.push(`${step} ${Math.round(performance.now() - answered)} ms`);

      // Every key, on both processes: the source each answer carries.
      const sources: Record<'a' | 'b', string[]> = { a: [], b: [] };
      for (const [name, proc] of [
        ['a', a],
        ['b', b],
      ] as const) {
        const got = new Array<string>(KEYS);
        await pool(keys, 16, async (key, k) => {
          // Every 8th key reads a customer's list, the others an order.
          const path = k % 8 === 7 ? `/orders?customerId=cust-${k % 3}` : `/orders/${orderIds[k % ORDERS]}`;
          const res = await fetch(proc.publicUrl + path, { headers: { 'x-user-id': key }, signal: AbortSignal.timeout(15_000) });
          await res.arrayBuffer();
          got[k] = `${res.status} ${res.headers.get('x-strangler-source')}`;
        });
        sources[name] = got;
      }
      const percent = after.stage === 'complete' ? 100 : after.stage === 'canary' ? after.percent : -1;
      const expected = keys.map((key) => `200 ${bucketOf('orders', key) < percent * 100 ? 'read-model' : 'legacy'}`);
      expect(sources.a).toEqual(expected);
      expect(sources.b).toEqual(expected);
      const onModel = sources.a.map((s) => s.endsWith('read-model'));
      // Monotone: no key leaves the read model on the way up.
      if (previous) expect(previous.filter((was, k) => was && !onModel[k])).toEqual([]);
      previous = onModel;
      const share = (onModel.filter(Boolean).length / KEYS) * 100;
      console.log(
        `[canary processes] ${step}: ${share.toFixed(2)} % of ${KEYS} keys read from the model, the same keys on both processes` +
          (percent > 0 && percent < 100 ? ` (share printed only: ${KEYS} keys are too few for ±0.5 points)` : ''),
      );
    }
    // Measured and printed, not asserted: a timing on a loaded machine is not a test.
    console.log(
      `[canary processes] B showed each change through A after (A's 200 → B's GET /admin/canary, polled every 5 ms): ${lags.join(', ')} (target: within 1000 ms)`,
    );

    // What the dry-run guard would have done meanwhile (its actions, counted on whichever process led).
    const verdicts: string[] = [];
    for (const proc of [a, b])
      for (const line of (await (await fetch(`${proc.adminUrl}/metrics`)).text()).split('\n'))
        if (line.startsWith('strangler_guard_actions_total{')) verdicts.push(line);
    console.log(`[canary processes] guard (dry run) would have acted: ${verdicts.length ? verdicts.join('; ') : 'never'}`);

    const audit = await admin(b.adminUrl, 'GET', `/admin/audit?entity=orders&limit=${STEPS.length}`);
    expect(audit.status).toBe(200);
    const entries = audit.body['entries'] as Record<string, unknown>[];
    expect(entries).toHaveLength(STEPS.length);
    for (const [n, entry] of [...entries].reverse().entries()) {
      // The first change finds no stored state: its before is the default, dual_write at 0 %.
      const [bStage, bPercent] = (STEPS[n - 1] ?? 'dual_write:0').split(':');
      const [aStage, aPercent] = STEPS[n]!.split(':');
      expect(entry).toMatchObject({
        actor: 'ops',
        source: 'api',
        entity: 'orders',
        action: 'promote',
        reason: `step ${n}: ${STEPS[n]}`,
        before: { stage: bStage, percent: Number(bPercent), paused: false },
        after: { stage: aStage, percent: Number(aPercent), paused: false, updatedBy: 'ops' },
      });
    }
  });
});
