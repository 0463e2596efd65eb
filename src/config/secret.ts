import { createHash, timingSafeEqual } from 'node:crypto';

const REDACTED = '[redacted]';

/**
 * A secret from the environment (an admin token). Prints, serialises and inspects as
 * "[redacted]", so logging a whole config object cannot leak it; `reveal()` is the one
 * explicit way to the value.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  /** Constant-time comparison (both sides hashed first, so the lengths leak nothing either). */
  matches(candidate: string): boolean {
    const a = createHash('sha256').update(this.#value).digest();
    const b = createHash('sha256').update(candidate).digest();
    return timingSafeEqual(a, b);
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return REDACTED;
  }
}
