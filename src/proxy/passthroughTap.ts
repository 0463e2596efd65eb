import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LegacyAnswer } from '../canary/shadowTypes.ts';

/** Where the read path leaves its extras on the response for the passthrough's proxyRes. */
export const EXTRAS = Symbol('strangler.passthroughExtras');
/** Set on a response whose request was sent a second time (retryOnReset). */
export const RETRIED = Symbol('strangler.passthroughRetried');

export interface LegacyTap {
  /** Larger answers are not kept: `done(null, 'too_large')`. */
  maxBytes: number;
  /**
   * Legacy's answer as the client got it, called once the client's response has finished;
   * `null` when it was too large to keep. Not called when the answer did not complete
   * (legacy or the client went away, or legacy could not be reached).
   */
  done(answer: LegacyAnswer | null, reason?: 'too_large'): void;
}

export interface PassthroughExtras {
  /** One more answer header, e.g. `['X-Strangler-Source', 'legacy']`. */
  header?: readonly [string, string];
  tap?: LegacyTap;
  /**
   * Body-less reads only: when legacy closes the connection before any answer (a pooled
   * socket it had just timed out), send the request once more instead of answering 502.
   */
  retryOnReset?: boolean;
}

/**
 * Keeps a copy of legacy's body as it is piped to the client (references to the chunks,
 * which node never reuses; nothing is held back from the client, and the copy stops at
 * maxBytes), and hands the whole answer over once the client has it.
 */
export function tapAnswer(proxyRes: IncomingMessage, res: ServerResponse, tap: LegacyTap): void {
  let chunks: Buffer[] | null = [];
  let size = 0;
  proxyRes.on('data', (chunk: Buffer) => {
    if (chunks === null) return;
    size += chunk.length;
    if (size > tap.maxBytes) chunks = null;
    else chunks.push(chunk);
  });
  res.once('finish', () => {
    if (!proxyRes.complete) return;
    if (chunks === null) tap.done(null, 'too_large');
    else tap.done({ status: proxyRes.statusCode ?? 502, headers: proxyRes.headers, body: Buffer.concat(chunks, size) });
  });
}
