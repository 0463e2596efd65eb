import { stringify } from 'yaml';
import { loadConfig, redactedConfig } from '../config/index.ts';
import type { CliIo } from './main.ts';

/** `strangler config check`: validates the file (exit 2 with every bad field) and prints it, secrets redacted. */
export async function runConfigCheck(opts: { configFile?: string; io: CliIo }): Promise<number> {
  const config = loadConfig({ ...(opts.configFile ? { file: opts.configFile } : {}), env: opts.io.env });
  opts.io.out(`# configuration is valid; effective values (secrets redacted):\n${stringify(redactedConfig(config))}`);
  return 0;
}
