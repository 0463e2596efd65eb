import type { AdminTokenSpec, DisabledAdminToken, ResolvedAdminToken } from './schema.ts';
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
