import type { EventStore } from '../../src/eventstore/index.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { createOrdersProjection, orderUpcasters } from '../../examples/legacy-orders/projections/orders/index.ts';
import { readProjection } from '../../src/projections/runner/projectionRow.ts';
import { createProjectionRunner } from '../../src/projections/runner/runner.ts';
import { createUpcasterRegistry } from '../../src/projections/upcast.ts';
import type { EntityResult } from '../../src/reconcile/reconciler.ts';
import type { ReconcileReport } from '../../src/reconcile/report/types.ts';
import { until } from '../e2e/fixtures/wait.ts';

/** The report of a reconciler run's first entity; its error, or a skipped run, is thrown. */
export function finished(results: EntityResult[]): ReconcileReport {
  const r = results[0]!;
  if ('error' in r) throw r.error;
  if (r.outcome.kind !== 'finished') throw new Error(`run skipped: ${r.outcome.reason}`);
  return r.outcome.report;
}

/**
 * Runs the sample's orders projection until its checkpoint reaches the head of the log as it
 * was when called (or it pauses on a failing event: the caller's assertions say whether that
 * was expected), then stops it.
 */
export async function projectOrders(
  store: EventStore,
  module: ReturnType<typeof createOrdersProjection>,
  opts: { batchSize?: number; maxRetries?: number } = {},
): Promise<void> {
  const registry = createUpcasterRegistry(orderUpcasters);
  const runner = createProjectionRunner({
    store,
    module,
    owner: 'test',
    logger: silentLogger(),
    upcast: (e) => registry.upcast(e),
    batchSize: opts.batchSize ?? 100,
    pollMs: 5,
    ...(opts.maxRetries !== undefined ? { maxRetries: opts.maxRetries, retryBackoffMs: 1 } : {}),
  });
  runner.start();
  try {
    const head = await store.headPosition();
    await until(
      async () => {
        const row = await readProjection(store.db, module.name);
        return row !== null && (row.status === 'paused' || row.checkpoint.position >= head);
      },
      'the orders projection to catch up (or pause)',
      20_000,
    );
  } finally {
    await runner.stop();
  }
}
