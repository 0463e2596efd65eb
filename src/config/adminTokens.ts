import type { AdminTokenSpec, DisabledAdminToken, ResolvedAdminToken, RollbackConfig } from './schema.ts';
import { Secret } from './secret.ts';

/**
 * Reads each token's value from the variable it names. A token whose variable is unset or
 * empty is disabled, not an error: the embedded demo runs without any, and the admin API
 * then refuses every bearer token. The caller logs `disabled` at start-up.
 */
export function resolveAdminTokens(
  tokens: readonly AdminTokenSpec[],
  env: Readonly<Record<string, string | undefined>>,
): { resolved: ResolvedAdminToken[]; disabled: DisabledAdminToken[] } {
  const resolved: ResolvedAdminToken[] = [];
  const disabled: DisabledAdminToken[] = [];
  for (const token of tokens) {
    const value = env[token.env];
    if (value === undefined || value === '') disabled.push({ name: token.name, env: token.env });
    else resolved.push({ name: token.name, role: token.role, secret: new Secret(value) });
  }
  return { resolved, disabled };
}

/**
 * The guard webhook's HMAC secret from the variable `secretEnv` names. Unset or empty: no
 * webhook at all (an unsigned one would be refused by a receiver that checks), with a warning.
 */
export function resolveWebhookSecret(
  webhook: RollbackConfig['webhook'],
  env: Readonly<Record<string, string | undefined>>,
  warnings: string[],
): RollbackConfig['webhook'] & { secret?: Secret } {
  if (webhook.secretEnv === null || webhook.url === null) return webhook;
  const value = env[webhook.secretEnv];
  if (value === undefined || value === '') {
    warnings.push(
      `rollback.webhook.secretEnv: ${webhook.secretEnv} is unset or empty, so guard actions are not sent to the webhook. Set it to turn this on.`,
    );
    return { ...webhook, url: null };
  }
  return { ...webhook, secret: new Secret(value) };
}
