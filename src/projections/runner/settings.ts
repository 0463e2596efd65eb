import type { Config } from '../../config/schema.ts';

/** The runner settings the configuration decides, in one place for the sidecar and the CLI. */
export function runnerSettings(config: Pick<Config, 'projections' | 'eventStore'>) {
  return {
    workers: config.projections.workers,
    batchSize: config.projections.batchSize,
    maxBatchSize: config.projections.maxBatchSize,
    maxRetries: config.eventStore.maxRetries,
    retryBackoffMs: config.eventStore.retryBackoffMs,
  };
}
