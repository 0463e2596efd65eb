/** Headers that describe one connection, not the message: never forwarded (RFC 9110 §7.6.1). */
export const HOP_BY_HOP = new Set([
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

/** Raw header pairs [name, value, name, value, ...] without hop-by-hop headers (and those named in Connection). */
export function endToEndRawHeaders(raw: string[], drop: Set<string> = HOP_BY_HOP): string[] {
  let extra: Set<string> | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() === 'connection') {
      for (const t of raw[i + 1]!.split(',')) (extra ??= new Set()).add(t.trim().toLowerCase());
    }
  }
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (drop.has(name) || extra?.has(name)) continue;
    out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}
