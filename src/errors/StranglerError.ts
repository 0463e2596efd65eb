/**
 * One base error for the project. `code` is a stable machine-readable name; `status`
 * doubles as the HTTP status when the error reaches the admin API (rendered as RFC 7807
 * problem details there).
 */
export class StranglerError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, opts: { status?: number; details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = opts.status ?? 500;
    this.details = opts.details;
  }

  toProblem(instance?: string): Record<string, unknown> {
    return {
      type: `https://strangler-sidecar.dev/problems/${this.code}`,
      title: this.code,
      status: this.status,
      detail: this.message,
      ...(instance ? { instance } : {}),
      ...(this.details ?? {}),
    };
  }
}
