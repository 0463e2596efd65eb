import { afterEach, beforeEach, expect, it } from 'vitest';
import { createOrdersProjection } from '../../examples/legacy-orders/projections/orders/index.ts';
import { listAudit } from '../../src/canary/stateStore.ts';
import { main } from '../../src/cli/main.ts';
import { Secret } from '../../src/config/secret.ts';
import { pauseByOperator, resumeProjection } from '../../src/projections/runner/operations.ts';
import { readProjection } from '../../src/projections/runner/projectionRow.ts';
import { signBody } from '../../src/guard/webhook.ts';
import type { Sidecar } from '../../src/sidecar.ts';
import { sleep, until } from '../e2e/fixtures/wait.ts';
import { createPgTestDb, type TestDb } from '../harness/db.ts';
import { startEchoUpstream, type EchoUpstream } from '../helpers/echoUpstream.ts';
import { operator, startReceiver, type Receiver } from '../helpers/guard.ts';
import { startTestSidecar } from '../helpers/sidecar.ts';

// Two sidecar replicas on one PostgreSQL event store, the guard at intervalMs 1000 and
// threshold 2 on each: one leads, both follow its actions through the canary state. The
// breach is a paused orders projection (a paused projection fails projection_lag at once).
const OPERATOR = 'op-token-guard';
const VIEWER = 'view-token-guard';
const SECRET = 'guard-hook-secret';
const projection = createOrdersProjection().name;

let db: TestDb;
let upstream: EchoUpstream;
let receiver: Receiver;
const sidecars: Sidecar[] = [];

beforeEach(async () => {
  db = await createPgTestDb('guardrep');
  upstream = await startEchoUpstream();
  receiver = await startReceiver();
  for (let i = 0; i < 2; i++)
    sidecars.push(
      await startTestSidecar({
        upstream: upstream.url,
        eventStoreUrl: db.url,
        configure: (config) => {
          config.admin.resolvedTokens = [
            { name: 'ops', role: 'operator', secret: new Secret(OPERATOR) },
            { name: 'watch', role: 'viewer', secret: new Secret(VIEWER) },
          ];
          Object.assign(config.rollback, { intervalMs: 1000, threshold: 2 });
          config.rollback.webhook = {
            url: receiver.url,
            secretEnv: 'GUARD_SECRET',
            timeoutMs: 2000,
            retries: 2,
            secret: new Secret(SECRET),
          };
        },
      }),
    );
}, 60_000);

afterEach(async () => {
  for (const s of sidecars.splice(0)) await s.stop();
  await receiver?.close();
  await upstream?.close();
  await db?.drop();
});

async function get<T>(sidecar: Sidecar, path: string): Promise<T> {
  const res = await fetch(sidecar.adminUrl + path, { headers: { authorization: `Bearer ${VIEWER}` } });
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}
type CanaryView = { entities: Record<string, { stage: string; percent: number; paused: boolean }> };
type GuardView = { leading: boolean; entities: Record<string, { gates: { name: string; state: string; value: number | null }[] }> };
const orders = async (s: Sidecar) => (await get<CanaryView>(s, '/admin/canary')).entities['orders']!;
const lagGate = async (s: Sidecar) =>
  (await get<GuardView>(s, '/admin/guard')).entities['orders']!.gates.find((g) => g.name === 'projection_lag');

/** Pauses the projection and returns how long until every replica reads from legacy only. */
async function breachAndWait(replicas: Sidecar[]): Promise<number> {
  const store = replicas[0]!.store;
  const breach = Date.now();
  await pauseByOperator(store.db, projection, 'test', 'guard test: stop the projection');
  await until(
    async () => {
      for (const s of replicas) {
        const o = await orders(s);
        if (o.stage !== 'shadow' || o.percent !== 0) return false;
      }
      return true;
    },
    'every replica to read from legacy only',
    30_000,
    25,
  );
  const reaction = Date.now() - breach;
  // The rollback, then the pause that holds it (two audited changes).
  await until(
    async () => (await listAudit(store.db, { entity: 'orders', limit: 1 }))[0]?.action === 'pause',
    'the guard to hold the rollback',
  );
  return reaction;
}

it('two replicas: a paused projection rolls the canary back on both, audited, one signed notification; the leader stopped, the other acts', async () => {
  const store = sidecars[0]!.store;
  await until(async () => (await readProjection(store.db, projection)) !== null, 'the orders projection to start', 30_000);
  await operator(store.db, { action: 'set', percent: 25 });
  await until(
    async () => (await orders(sidecars[0]!)).percent === 25 && (await orders(sidecars[1]!)).percent === 25,
    'both replicas at 25 %',
  );
  await until(async () => (await lagGate(sidecars[1]!))?.state === 'pass', 'projection_lag to pass', 30_000);

  const reaction = await breachAndWait(sidecars);
  console.log(
    `guard reaction, breach → every read on both replicas from legacy: ${reaction} ms (intervalMs 1000, threshold 2; budget 3000 ms)`,
  );
  const audit = await listAudit(store.db, { entity: 'orders', limit: 5 });
  const rollback = audit.find((e) => e.action === 'rollback')!;
  expect(rollback).toMatchObject({ actor: 'guard', source: 'guard', reason: 'projection_lag', after: { stage: 'shadow', percent: 0 } });
  expect(rollback.gates).toEqual(
    expect.arrayContaining([expect.objectContaining({ name: 'projection_lag', state: 'fail', threshold: 5000 })]),
  );
  expect(audit[0]).toMatchObject({ action: 'pause', actor: 'guard' });

  await until(() => receiver.received.length >= 1, 'the webhook notification', 10_000);
  await sleep(2500); // more evaluations while still failing: no second notification
  expect(receiver.received).toHaveLength(1);
  const n = receiver.received[0]!;
  expect(n.json).toMatchObject({ entity: 'orders', action: 'rollback', reason: 'projection_lag' });
  expect(n.signature).toBe(signBody(SECRET, n.body));

  expect((await fetch(sidecars[0]!.adminUrl + '/admin/guard')).status).toBe(401);
  const out: string[] = [];
  const code = await main(['guard', 'status', 'orders', '--admin', sidecars[1]!.adminUrl, '--token', VIEWER], {
    out: (l) => out.push(l),
    err: (l) => out.push(l),
    env: {},
  });
  expect(code).toBe(0);
  expect(out.join('\n')).toMatch(
    /orders: shadow \(paused\), policy rollback, \d+ failed evaluation\(s\) in a row, last action rollback \(projection_lag\)/,
  );
  expect(out.join('\n')).toMatch(/projection_lag\s+fail/);

  // The leader stops; the other replica takes over and a later breach still rolls back.
  await resumeProjection(store.db, projection);
  const leaderIndex = (await get<GuardView>(sidecars[0]!, '/admin/guard')).leading ? 0 : 1;
  const [leader] = sidecars.splice(leaderIndex, 1);
  await leader!.stop();
  const survivor = sidecars[0]!;
  await until(async () => (await get<GuardView>(survivor, '/admin/guard')).leading, 'the other replica to lead', 30_000);
  await operator(survivor.store.db, { action: 'resume' });
  await until(async () => (await orders(survivor)).paused === false, 'the resume to reach the survivor');
  // The restore of the held step needs a read handler for every read route (the read path); set it as an operator.
  if ((await orders(survivor)).percent !== 25) await operator(survivor.store.db, { action: 'set', percent: 25 });
  await until(async () => (await lagGate(survivor))?.state === 'pass', 'projection_lag to pass again', 30_000);
  const again = await breachAndWait([survivor]);
  console.log(`after the leader stopped: breach → rollback by the other replica in ${again} ms`);
  const [pause, second] = await listAudit(survivor.store.db, { entity: 'orders', limit: 2 });
  expect(second).toMatchObject({ action: 'rollback', actor: 'guard', reason: 'projection_lag' });
  expect(pause).toMatchObject({ action: 'pause', actor: 'guard' });
}, 120_000);
