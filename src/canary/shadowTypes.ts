import type { ReadRequest } from '../reads/types.ts';
import type { Stage } from './stages.ts';

/**
 * The seam between the read path (src/canary/readPath…, which answers the client) and the
 * shadow comparison (src/canary/shadow/, which works in the background). The read path asks
 * `wanted` before forwarding to legacy; when true it keeps a copy of legacy's answer and,
 * once the client has it, hands it to `submit`. Nothing in submit may delay the client.
 */

/** Legacy's answer as the client got it. */
export interface LegacyAnswer {
  status: number;
  /** Lower-cased header names. */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  body: Buffer;
}

export interface ShadowSubmission {
  entity: string;
  /** The read route's text, e.g. `GET /orders/:id`. */
  route: string;
  request: ReadRequest;
  legacy: LegacyAnswer;
  /**
   * Whether the read model could answer this read now by the read path's own rule (the key's
   * latest event applied; a list's projection within maxListLagMs). Started alongside the read
   * model's query; false: nothing is compared or counted, since a read model behind its log
   * differs from legacy without being wrong, and the read path would not have served it.
   */
  fresh?: () => Promise<boolean>;
}

export interface Shadow {
  /** Whether this read's legacy answer should be compared (every read in shadow; a sample in canary). */
  wanted(entity: string, route: string, stage: Stage): boolean;
  /** Compares in the background: never throws, never awaits on the caller's path. */
  submit(s: ShadowSubmission): void;
  /** Ends comparisons in flight (shutdown). */
  stop(): Promise<void>;
}

export const NO_SHADOW: Shadow = { wanted: () => false, submit: () => undefined, stop: async () => undefined };
