import { stringify } from 'yaml';
import { ConfigError, DEFAULT_CONFIG_FILE, loadConfig } from '../config/index.ts';
import { missingFiles } from '../config/checkFiles.ts';
import { configInputForm } from '../config/inputForm.ts';
import type { ConfigIssue } from '../config/ConfigError.ts';
import type { Config } from '../config/schema.ts';
import { checkLookupColumns } from '../capture/lookupColumns.ts';
import { connect } from '../db/connect.ts';
import type { Executor } from '../db/executor.ts';
import type { CliIo } from './main.ts';

/**
 * `strangler config check`: validates the file (exit 2 with every bad field, including
 * module and handler files that do not exist, and `lookup` columns the legacy database does
 * not have when it answers), prints the warnings once, then the effective config, secrets
 * redacted, in a form that is itself valid input.
 */
export async function runConfigCheck(opts: { configFile?: string; io: CliIo }): Promise<number> {
  const config = loadConfig({ ...(opts.configFile ? { file: opts.configFile } : {}), env: opts.io.env });
  const issues = [...missingFiles(config), ...(await lookupIssues(config, opts.io))];
  if (issues.length > 0) throw new ConfigError(opts.configFile ?? DEFAULT_CONFIG_FILE, issues);
  for (const warning of config.warnings) opts.io.err(`warning: ${warning}`);
  opts.io.out(`# configuration is valid; effective values (secrets redacted):\n${stringify(configInputForm(config))}`);
  return 0;
}

/** Lookup columns checked against the legacy database when one is set; unreachable = a warning. */
async function lookupIssues(config: Config, io: CliIo): Promise<ConfigIssue[]> {
  const url = config.legacy.database.url;
  if (url === null || !Object.values(config.entities).some((e) => e.commands.some((c) => c.lookup))) return [];
  let db: Executor | undefined;
  try {
    db = await connect({ url, max: 1 });
    return await checkLookupColumns(db, config.entities);
  } catch (err) {
    io.err(`warning: lookup columns not checked: the legacy database did not answer (${(err as Error).message})`);
    return [];
  } finally {
    await db?.close();
  }
}
