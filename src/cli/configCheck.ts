import { stringify } from 'yaml';
import { ConfigError, DEFAULT_CONFIG_FILE, loadConfig } from '../config/index.ts';
import { missingFiles } from '../config/checkFiles.ts';
import { configInputForm } from '../config/inputForm.ts';
import type { CliIo } from './main.ts';

/**
 * `strangler config check`: validates the file (exit 2 with every bad field, including
 * module and handler files that do not exist), prints the warnings once, then the effective
 * config, secrets redacted, in a form that is itself valid input.
 */
export async function runConfigCheck(opts: { configFile?: string; io: CliIo }): Promise<number> {
  const config = loadConfig({ ...(opts.configFile ? { file: opts.configFile } : {}), env: opts.io.env });
  const missing = missingFiles(config);
  if (missing.length > 0) throw new ConfigError(opts.configFile ?? DEFAULT_CONFIG_FILE, missing);
  for (const warning of config.warnings) opts.io.err(`warning: ${warning}`);
  opts.io.out(`# configuration is valid; effective values (secrets redacted):\n${stringify(configInputForm(config))}`);
  return 0;
}
