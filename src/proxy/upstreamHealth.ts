import net from 'node:net';
import type { Logger } from 'pino';
import { classifyUpstreamError } from './upstreamErrors.ts';

export interface UpstreamState {
  /** `unknown` until the first request (or probe) reaches legacy or fails to. */
  status: 'unknown' | 'reachable' | 'unreachable';
  /** Connection failures in a row; any answer from legacy resets it. */
  consecutiveFailures: number;
  lastError: string | null;
  lastErrorAt: string | null;
}

export interface UpstreamHealth {
  /** Legacy answered (any status): it is reachable. Cheap: called on every response. */
  succeeded(): void;
  /** A request to legacy failed. Only connection failures count; a timeout or a reset is legacy's answer being slow or broken, not unreachable. */
  failed(err: NodeJS.ErrnoException): void;
  /** False once `unreadyAfterFailures` connections in a row failed. */
  ready(): boolean;
  state(): UpstreamState;
  /**
   * While unreachable, tries one TCP connection to legacy. An unready sidecar gets no traffic
   * (the pod leaves the Service), so without this the "next success" would never come: the
   * readiness probe drives recovery.
   */
  recheck(): Promise<void>;
  stop(): void;
}

export interface UpstreamHealthOptions {
  upstream: string;
  unreadyAfterFailures: number;
  logger: Logger;
  /** How often an ongoing outage is logged, with the count of failures since the last line (default 60 s). */
  logIntervalMs?: number;
  /** TCP connect timeout of recheck() (default 1 s). */
  probeTimeoutMs?: number;
}

/**
 * Tracks whether legacy accepts connections, for /readyz and the log. A refusing upstream
 * would otherwise show only as 504s to clients and a metric: the first failure is logged at
 * once, then one line per interval with the count (never a line per request), and one line
 * when legacy is reachable again.
 */
export function createUpstreamHealth(opts: UpstreamHealthOptions): UpstreamHealth {
  const { logger } = opts;
  const url = new URL(opts.upstream);
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  let status: UpstreamState['status'] = 'unknown';
  let consecutive = 0;
  let lastError: string | null = null;
  let lastErrorAt: string | null = null;
  /** The outage being logged: when it began, failures in it, failures not yet in a log line. */
  let outage: { since: number; failures: number; unlogged: number; timer: NodeJS.Timeout } | null = null;

  const endOutage = () => {
    if (!outage) return;
    clearInterval(outage.timer);
    logger.info(
      { upstream: opts.upstream, failures: outage.failures, downForMs: Date.now() - outage.since },
      'legacy upstream is reachable again',
    );
    outage = null;
  };

  /** One more connection to legacy failed (a request's, or recheck()'s). */
  const connectFailed = (err: NodeJS.ErrnoException) => {
    status = 'unreachable';
    consecutive++;
    lastError = `${err.code ?? 'error'}: ${err.message}`;
    lastErrorAt = new Date().toISOString();
    if (outage) {
      outage.failures++;
      outage.unlogged++;
      return;
    }
    const timer = setInterval(() => {
      if (!outage || outage.unlogged === 0) return;
      logger.error(
        {
          upstream: opts.upstream,
          failures: outage.unlogged,
          consecutiveFailures: consecutive,
          since: new Date(outage.since).toISOString(),
        },
        `legacy upstream still unreachable: ${outage.unlogged} failed connection(s) since the last line`,
      );
      outage.unlogged = 0;
    }, opts.logIntervalMs ?? 60_000);
    timer.unref();
    outage = { since: Date.now(), failures: 1, unlogged: 0, timer };
    logger.error(
      { upstream: opts.upstream, err: lastError },
      'legacy upstream unreachable: the sidecar cannot connect to it (clients get 504); further failures are counted and logged once a minute',
    );
  };

  const self: UpstreamHealth = {
    succeeded() {
      if (consecutive === 0 && status === 'reachable') return;
      status = 'reachable';
      consecutive = 0;
      endOutage();
    },
    failed(err) {
      if (classifyUpstreamError(err).reason === 'connect_failed') connectFailed(err);
    },
    ready: () => consecutive < opts.unreadyAfterFailures,
    state: () => ({ status, consecutiveFailures: consecutive, lastError, lastErrorAt }),
    async recheck() {
      if (status !== 'unreachable') return;
      const outcome = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
        const socket = net.connect({ host: url.hostname.replace(/^\[|\]$/g, ''), port });
        socket.setTimeout(opts.probeTimeoutMs ?? 1000, () =>
          socket.destroy(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' })),
        );
        socket.once('connect', () => {
          socket.destroy();
          resolve(null);
        });
        socket.once('error', (err: NodeJS.ErrnoException) => resolve(err));
      });
      // Any failure to open a TCP connection counts here, a connect timeout included.
      if (outcome === null) self.succeeded();
      else connectFailed(outcome);
    },
    stop() {
      if (outage) clearInterval(outage.timer);
      outage = null;
    },
  };
  return self;
}
