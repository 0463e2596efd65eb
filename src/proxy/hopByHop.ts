import type { IncomingHttpHeaders } from 'node:http';

/**
 * Headers that describe one connection, not the message: never forwarded (RFC 9110 §7.6.1),
 * plus the proxy-* ones, which are for a proxy that asked for them (the sidecar never does).
 * The one list for both routes and both directions: commands (forward.ts), the passthrough
 * (passthrough.ts) and upgrades (upgrade.ts) all filter with it.
 */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-authenticate',
  'proxy-authorization',
]);

/** Lower-case names listed in Connection values (raw pairs), or null when there are none. */
function connectionTokens(raw: string[]): Set<string> | null {
  let tokens: Set<string> | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 10 && raw[i]!.toLowerCase() === 'connection') {
      for (const t of raw[i + 1]!.split(',')) (tokens ??= new Set()).add(t.trim().toLowerCase());
    }
  }
  return tokens;
}

/** Raw header pairs [name, value, name, value, ...] without hop-by-hop headers (and those named in Connection); case and order kept. */
export function endToEndRawHeaders(raw: string[], drop: ReadonlySet<string> = HOP_BY_HOP): string[] {
  const extra = connectionTokens(raw);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (drop.has(name) || extra?.has(name)) continue;
    out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}

/** Never removed from a streamed request even when Connection names them: the body's framing and the target. */
const FRAMING = new Set(['transfer-encoding', 'content-length', 'host']);

/**
 * The passthrough's request side: http-proxy copies the parsed `req.headers`, so the same
 * names are removed there, in place, before it does. Two differ from the list:
 * Transfer-Encoding stays, as the framing of a streamed body (node decodes it and chunks the
 * body again on the way out); Expect goes, since node already answered the 100-continue.
 * Cheap when there is nothing to remove: one property read per name.
 */
export function stripRequestHopByHop(headers: IncomingHttpHeaders): void {
  const connection = headers.connection; // node joins repeated Connection headers with ', '
  if (connection !== undefined) {
    // Most clients send just `keep-alive` (or `close`): nothing else named, no token parsing.
    if (connection !== 'keep-alive' && connection !== 'close') {
      for (const t of connection.split(',')) {
        const name = t.trim().toLowerCase();
        if (name !== '' && !FRAMING.has(name) && headers[name] !== undefined) delete headers[name];
      }
    }
    delete headers.connection;
  }
  if (headers['keep-alive'] !== undefined) delete headers['keep-alive'];
  if (headers['proxy-connection'] !== undefined) delete headers['proxy-connection'];
  if (headers.te !== undefined) delete headers.te;
  if (headers.trailer !== undefined) delete headers.trailer;
  if (headers.upgrade !== undefined) delete headers.upgrade;
  if (headers['proxy-authorization'] !== undefined) delete headers['proxy-authorization'];
  if (headers['proxy-authenticate'] !== undefined) delete headers['proxy-authenticate'];
  if (headers.expect !== undefined) delete headers.expect;
}
