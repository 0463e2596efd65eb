import { createHmac } from 'node:crypto';
import type { Logger } from 'pino';
import type { Secret } from '../config/secret.ts';

export const SIGNATURE_HEADER = 'x-strangler-signature';

/** `sha256=` + hex HMAC-SHA256 of the exact body bytes. */
export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export interface Webhook {
  /** Queues a notification and returns at once; sending never delays the caller. */
  send(payload: unknown): void;
  /** Resolves when the queue is empty (tests, shutdown). */
  idle(): Promise<void>;
  /** Gives up what is queued after the one in flight. */
  stop(): Promise<void>;
}

export interface WebhookOptions {
  url: string | null;
  secret?: Secret | undefined;
  timeoutMs: number;
  retries: number;
  logger: Logger;
  /** First retry's wait; doubled each retry (default 1000 ms). */
  backoffMs?: number;
  /** Notifications waiting at most; older ones are dropped (and logged) beyond it. */
  maxQueue?: number;
}

/** Resolves after ms, or at once when the signal aborts (stop() does not wait out a backoff). */
const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref();
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

/**
 * The guard's notifications: a queue of its own, one POST at a time (JSON body, signed when
 * a secret is set), each with a timeout and `retries` more attempts with backoff. A failing
 * receiver costs queue space and log lines, never the guard's time.
 */
export function createWebhook(opts: WebhookOptions): Webhook {
  const queue: string[] = [];
  let running: Promise<void> | null = null;
  let stopped = false;
  const stopping = new AbortController();
  const maxQueue = opts.maxQueue ?? 1000;
  const url = opts.url;

  const deliver = async (body: string) => {
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'strangler-guard' };
    if (opts.secret) headers[SIGNATURE_HEADER] = signBody(opts.secret.reveal(), body);
    for (let attempt = 0; attempt <= opts.retries && !stopped; attempt++) {
      if (attempt > 0) await sleep((opts.backoffMs ?? 1000) * 2 ** (attempt - 1), stopping.signal);
      try {
        const res = await fetch(url!, {
          method: 'POST',
          headers,
          body,
          signal: AbortSignal.any([AbortSignal.timeout(opts.timeoutMs), stopping.signal]),
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) return;
        opts.logger.warn({ status: res.status, attempt: attempt + 1 }, 'guard webhook: receiver refused the notification');
      } catch (err) {
        opts.logger.warn({ err: (err as Error).message, attempt: attempt + 1 }, 'guard webhook: cannot deliver the notification');
      }
    }
    if (!stopped) opts.logger.error({ attempts: opts.retries + 1 }, 'guard webhook: notification dropped after its retries');
  };

  const drain = async () => {
    while (queue.length > 0 && !stopped) await deliver(queue.shift()!);
    running = null;
  };

  return {
    send(payload) {
      if (url === null || stopped) return;
      if (queue.length >= maxQueue) {
        queue.shift();
        opts.logger.error({ maxQueue }, 'guard webhook: queue full; the oldest notification is dropped');
      }
      queue.push(JSON.stringify(payload));
      // Started on the next turn: even the first fetch's set-up never runs inside the caller.
      running ??= new Promise<void>((r) => setImmediate(r)).then(drain);
    },
    async idle() {
      while (running) await running;
    },
    async stop() {
      stopped = true;
      stopping.abort();
      queue.length = 0;
      await running;
    },
  };
}
