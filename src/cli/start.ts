import { loadConfig, redactedConfig } from '../config/index.ts';
import { createLogger } from '../logging/logger.ts';
import { startSidecar } from '../sidecar.ts';
import type { CliIo } from './main.ts';

/** Resolves when SIGINT or SIGTERM arrives. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

/** `strangler start --config FILE`: the sidecar for real, until SIGTERM/SIGINT (then a graceful drain). */
export async function runStart(opts: { configFile?: string; io: CliIo }): Promise<number> {
  const config = loadConfig({ ...(opts.configFile ? { file: opts.configFile } : {}), env: opts.io.env });
  const logger = createLogger({ ...(opts.io.env.LOG_LEVEL ? { level: opts.io.env.LOG_LEVEL } : {}) });
  for (const warning of config.warnings) logger.warn(warning);
  if (config.admin.disabledTokens.length)
    logger.warn({ tokens: config.admin.disabledTokens }, 'admin tokens without a value in the environment are disabled');
  logger.debug({ config: redactedConfig(config) }, 'configuration');
  const sidecar = await startSidecar({ config, logger });
  const signal = await untilSignal();
  logger.info({ signal }, 'shutting down');
  await sidecar.stop();
  return 0;
}
