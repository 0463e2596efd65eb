import { redactedConfig } from './redactedConfig.ts';
import type { Config } from './schema.ts';

/**
 * The effective config as the file would have to be written to get it: what
 * `strangler config check` prints, so that feeding it back validates to the same config.
 * Everything loadConfig adds is removed (resolved and disabled tokens, warnings) and the
 * sticky key, which the schema turns into { source, name }, is written back as
 * { header | cookie | param: NAME }. Secrets stay redacted (URL passwords as ***).
 */
export function configInputForm(config: Config): Record<string, unknown> {
  const copy = redactedConfig(config);
  delete copy.warnings;
  const admin = copy.admin as Record<string, unknown>;
  delete admin.resolvedTokens;
  delete admin.disabledTokens;
  delete ((copy.rollback as Record<string, unknown>).webhook as Record<string, unknown>).secret;
  const canary = copy.canary as { stickyKey: unknown };
  canary.stickyKey = { [config.canary.stickyKey.source]: config.canary.stickyKey.name };
  return copy;
}
