import type { ServerResponse } from 'node:http';

/**
 * Client requests in flight on the public port, for background work that should wait for
 * a moment when no client is waiting on this process (the shadow comparison). Counted only
 * while `tracking` is on (an entity in shadow or canary): off, the public server pays one
 * property read per request and the passthrough nothing more.
 *
 * Upgraded connections (WebSocket) are not requests in flight: a tunnel open for hours
 * would otherwise keep the port from ever being quiet.
 */
export interface ClientActivity {
  /** Read by the public server on every request: count it or not. */
  tracking: boolean;
  /** Counts the request until its response closes (ended or aborted). */
  track(res: ServerResponse): void;
  /** Tracked requests whose response has not closed. */
  readonly inFlight: number;
  /** Called each time the count falls to 0, after the closing response's own listeners. */
  onQuiet(listener: () => void): void;
}

export function createClientActivity(): ClientActivity {
  let inFlight = 0;
  const listeners: (() => void)[] = [];
  // One function for every response: no closure per request.
  const closed = () => {
    inFlight--;
    if (inFlight === 0) for (const l of listeners) l();
  };
  return {
    tracking: false,
    track(res) {
      inFlight++;
      res.once('close', closed);
    },
    get inFlight() {
      return inFlight;
    },
    onQuiet(listener) {
      listeners.push(listener);
    },
  };
}
