import { StranglerError } from '../errors/StranglerError.ts';

/**
 * The CLI as a client of a running sidecar's admin API, the way kubectl talks to the API
 * server: `--admin URL` / `STRANGLER_ADMIN_URL` (default http://127.0.0.1:9090) and
 * `--token T` / `STRANGLER_ADMIN_TOKEN`. Operational commands use it unless `--config FILE`
 * asks for offline, direct database access.
 */
export interface AdminClient {
  readonly url: string;
  /** GET/POST/PUT a JSON endpoint; resolves with the parsed body of a 2xx answer. */
  request<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  /** Like request, but resolves with the status too, so a caller can handle 404/409 itself. */
  send<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
}

export const DEFAULT_ADMIN_URL = 'http://127.0.0.1:9090';

export interface AdminClientOptions {
  /** --admin */
  admin?: string | undefined;
  /** --token */
  token?: string | undefined;
  env: Record<string, string | undefined>;
  /** Per request (default 30 s). */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** An admin API answer that is not 2xx: the problem+json detail is the message. */
export class AdminApiError extends StranglerError {
  constructor(
    readonly httpStatus: number,
    message: string,
    readonly problem: Record<string, unknown> | undefined,
  ) {
    super(httpStatus === 401 || httpStatus === 403 ? 'admin_auth' : 'admin_api', message, { status: httpStatus });
  }
}

export function createAdminClient(opts: AdminClientOptions): AdminClient {
  const url = (opts.admin ?? opts.env.STRANGLER_ADMIN_URL ?? DEFAULT_ADMIN_URL).replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+/.test(url)) {
    throw new StranglerError(
      'usage',
      `--admin / STRANGLER_ADMIN_URL must be an http(s) URL, got "${url}". Example: --admin ${DEFAULT_ADMIN_URL}`,
      {
        status: 400,
      },
    );
  }
  const token = opts.token ?? opts.env.STRANGLER_ADMIN_TOKEN;
  const doFetch = opts.fetch ?? fetch;
  const timeoutMs = opts.timeoutMs ?? 30_000;

  const send = async <T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> => {
    let res: Response;
    try {
      res = await doFetch(url + path, {
        method,
        headers: {
          accept: 'application/json',
          // The audit log says whether a change came from the CLI or another API client.
          'x-strangler-client': 'cli',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const inner = (err as { cause?: { code?: string; message?: string } }).cause;
      const cause = inner?.code ?? inner?.message ?? (err as Error).message;
      throw new StranglerError(
        'admin_unreachable',
        `No sidecar admin API answers at ${url} (${cause}). Start one (npm start, or strangler start --config FILE) or point ` +
          `--admin / STRANGLER_ADMIN_URL at it; for offline use against the databases, give --config FILE.`,
        { status: 503, cause: err },
      );
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = text;
    }
    return { status: res.status, body: parsed as T };
  };

  return {
    url,
    send,
    async request<T>(method: string, path: string, body?: unknown): Promise<T> {
      const r = await send<T>(method, path, body);
      if (r.status >= 200 && r.status < 300) return r.body;
      const problem = r.body && typeof r.body === 'object' ? (r.body as Record<string, unknown>) : undefined;
      const detail = typeof problem?.detail === 'string' ? problem.detail : typeof r.body === 'string' ? r.body : `HTTP ${r.status}`;
      const hint =
        r.status === 401 && !token ? ' Pass the operator or viewer token with --token or STRANGLER_ADMIN_TOKEN (the demo prints one).' : '';
      throw new AdminApiError(r.status, `${method} ${url}${path}: ${r.status} ${detail}${hint}`, problem);
    },
  };
}
