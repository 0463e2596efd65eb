import type { IncomingHttpHeaders } from 'node:http';

/**
 * Request headers that carry a credential. Their values are never written into event
 * metadata: config check refuses one as `server.actorHeader`, and capture skips one here
 * too, so a token cannot reach the event store by any spelling of the config.
 */
export const CREDENTIAL_HEADERS: readonly string[] = ['authorization', 'cookie', 'proxy-authorization'];

export const isCredentialHeader = (name: string) => CREDENTIAL_HEADERS.includes(name.toLowerCase());

/** Where the actor recorded in event metadata comes from (server.actorHeader, server.actor). */
export interface ActorSource {
  /** A plain request header naming the user (server.actorHeader). */
  header: string;
  /** A claim of the `Authorization: Bearer|Token` JWT (server.actor.jwtClaim); wins over the header when present. */
  jwtClaim?: string;
}

const first = (h: IncomingHttpHeaders, name: string): string | undefined => {
  const v = h[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
};

/** The actor of a request: the JWT claim when configured and present, else the actor header; undefined when neither. */
export function actorOf(h: IncomingHttpHeaders, source: ActorSource): string | undefined {
  if (source.jwtClaim !== undefined) {
    const claimed = bearerClaim(first(h, 'authorization'), source.jwtClaim);
    if (claimed !== undefined) return claimed;
  }
  if (isCredentialHeader(source.header)) return undefined;
  const v = first(h, source.header);
  return v === undefined || v === '' ? undefined : v;
}

/**
 * A claim of the JWT in an `Authorization: Bearer …` header (or `Token …`, the scheme of
 * RealWorld/Conduit-style APIs): the payload (second segment)
 * decoded from base64url JSON. The signature is NOT checked: the sidecar records who legacy
 * saw, it does not authenticate (legacy does, on the same request). Only the claim's value
 * is kept, never the token. A dotted claim (`user.name`) reads a nested one. Anything
 * malformed (another scheme, not three segments, bad base64 or JSON, a claim that is not a
 * string or number) gives undefined.
 */
export function bearerClaim(authorization: string | undefined, claim: string): string | undefined {
  const m = /^(?:Bearer|Token)\s+(\S+)\s*$/i.exec(authorization ?? '');
  const segments = m?.[1]?.split('.');
  if (segments?.length !== 3 || !/^[A-Za-z0-9_-]+$/.test(segments[1]!)) return undefined;
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(segments[1]!, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  let value: unknown = payload;
  for (const key of claim.split('.')) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return typeof value === 'string' && value !== '' ? value : undefined;
}
