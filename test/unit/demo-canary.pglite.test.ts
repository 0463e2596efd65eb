import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { followCanary, type CanaryFollower } from '../../src/canary/follow.ts';
import type { EntityReadiness } from '../../src/canary/stages.ts';
import { changeCanary, listAudit } from '../../src/canary/stateStore.ts';
import { readsLines, startReadsInShadow, type DemoCanary } from '../../src/demo/demoCanary.ts';
import { openEventStore, type EventStore } from '../../src/eventstore/index.ts';
import { silentLogger } from '../../src/logging/logger.ts';

// The demo's start of the orders reads, on the demo's own store (embedded PGlite, in memory):
// shadow as actor demo (source config) on a fresh store when the sidecar accepts it, the
// sidecar's reason when it does not, and an operator's stage left alone on the next start.
const READS = ['GET /orders/:id', 'GET /orders'];
const STEPS = [10, 25, 50, 100];
const ADMIN = 'http://127.0.0.1:9090';

let store: EventStore;
let follower: CanaryFollower;

beforeEach(async () => {
  store = await openEventStore({ url: 'memory', migrate: true });
  follower = await followCanary(store.db, { entities: ['orders'], logger: silentLogger() });
});

afterEach(async () => {
  await follower.stop();
  await store.close();
});

/** The sidecar's canary (Sidecar.canary) with the given read handlers. */
const canaryWith = (handled: readonly string[]): DemoCanary => ({
  current: (entity) => follower.current(entity),
  async change(req) {
    const readiness: EntityReadiness = { reads: READS, handled };
    const r = await changeCanary(store.db, { ...req, steps: STEPS, readiness });
    await follower.refresh();
    return r;
  },
});

describe('the demo starts the orders reads in shadow', () => {
  it('on a fresh store with a handler for every read route: shadow, by demo (config), and the lines to move it to 10 %', async () => {
    const reads = await startReadsInShadow(canaryWith(READS), 'orders');
    expect({ stage: reads.state.stage, by: reads.state.updatedBy }).toEqual({ stage: 'shadow', by: 'demo' });
    const [entry] = await listAudit(store.db, { entity: 'orders', limit: 5 });
    expect({
      actor: entry!.actor,
      source: entry!.source,
      action: entry!.action,
      before: entry!.before?.stage,
      after: entry!.after.stage,
    }).toEqual({
      actor: 'demo',
      source: 'config',
      action: 'set',
      before: 'dual_write',
      after: 'shadow',
    });
    const lines = readsLines('orders', ADMIN, 'header x-user-id', reads);
    expect(lines[0]).toBe('Reads of orders: shadow (set by the demo at start).');
    expect(lines).toContain(`  curl -s "${ADMIN}/admin/shadow?entity=orders" -H "authorization: Bearer $STRANGLER_ADMIN_TOKEN"`);
    expect(lines).toContain('  npx strangler canary set orders --percent 10 --reason "shadow matches"');
  });

  it('without a handler for every read route: stays at dual_write with the sidecar’s reason, nothing written', async () => {
    const reads = await startReadsInShadow(canaryWith(['GET /orders/:id']), 'orders');
    expect(reads.state.stage).toBe('dual_write');
    expect(reads.refused).toBe('shadow needs a read handler for every read route of orders; none can answer GET /orders yet.');
    expect(await listAudit(store.db, { entity: 'orders', limit: 5 })).toEqual([]);
    const lines = readsLines('orders', ADMIN, 'header x-user-id', reads);
    expect(lines.slice(0, 2)).toEqual(['Reads of orders: dual_write (the sidecar refused shadow).', `  ${reads.refused}`]);
    expect(lines.some((l) => l.includes('--percent 10'))).toBe(false);
  });

  it('a stage an operator set survives the next demo start, even back at dual_write', async () => {
    const canary = canaryWith(READS);
    await startReadsInShadow(canary, 'orders');
    await canary.change({
      entity: 'orders',
      change: { action: 'set', stage: 'dual_write' },
      actor: 'ops',
      source: 'cli',
      reason: 'not yet',
    });
    const again = await startReadsInShadow(canary, 'orders');
    expect({ stage: again.state.stage, by: again.state.updatedBy }).toEqual({ stage: 'dual_write', by: 'ops' });
    expect(again.why).toMatch(/^left as dual_write by ops at .+ \(the demo sets shadow only on a fresh data directory\)$/);
    expect((await listAudit(store.db, { entity: 'orders', limit: 5 })).map((e) => e.actor)).toEqual(['ops', 'demo']);
  });
});
