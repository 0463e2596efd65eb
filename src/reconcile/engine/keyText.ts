import type { Canonical } from '../encoding/canonical.ts';
import { displayCanonical } from '../encoding/rowEncoding.ts';

/**
 * A key as one text, from its canonical values: how a difference is named, stored
 * (strangler_reconcile_diffs.key_text) and matched between the two sides. A single key is its
 * value; a composite key is the JSON array of its values (PostgreSQL text holds no NUL
 * character, so no separator byte is safe).
 */
export function keyText(key: readonly Canonical[]): string {
  const parts = key.map((k) => displayCanonical(k) ?? '');
  return parts.length === 1 ? parts[0]! : JSON.stringify(parts);
}
