import { redactUrl } from './redactUrl.ts';
import type { Config } from './schema.ts';

/**
 * A copy of the config that is safe to log: token secrets as "[redacted]", URL passwords
 * masked, and the webhook reduced to its origin (chat webhooks carry their secret in the path).
 */
export function redactedConfig(config: Config): Record<string, unknown> {
  const copy = JSON.parse(
    JSON.stringify(config, (_key, value: unknown) => (typeof value === 'string' ? redactUrl(value) : value)),
  ) as Record<string, unknown>;
  const webhook = (copy.rollback as { webhook?: { url?: string | null } } | undefined)?.webhook;
  if (webhook?.url) webhook.url = `${new URL(webhook.url).origin}/***`;
  return copy;
}
