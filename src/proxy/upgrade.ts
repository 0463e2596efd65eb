import http, { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Metrics } from '../metrics/metrics.ts';
import { addForwarded } from './forward.ts';
import { endToEndRawHeaders } from './hopByHop.ts';
import { ensureRequestId } from './requestId.ts';
import { classifyUpstreamError } from './upstreamErrors.ts';
import type { UpstreamHealth } from './upstreamHealth.ts';

export interface UpgradeOptions {
  upstream: URL;
  /** `legacy.upgrades`: false answers every Upgrade request 501. */
  enabled: boolean;
  /** Milliseconds to wait for legacy's answer to the Upgrade request (not for the tunnel). */
  timeoutMs: number;
  metrics?: Metrics;
  health?: UpstreamHealth;
}

export interface UpgradeHandler {
  /** The public server's 'upgrade' listener. */
  handle(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** 501 for an Upgrade on a command route: a tunnel would carry the command past capture. */
  refuse(req: IncomingMessage, socket: Duplex, route: string): void;
  /** Tunnels open now. */
  readonly open: number;
  /** Cuts every open tunnel (both sockets): shutdown, once the drain period is over. */
  closeAll(): void;
}

/**
 * `Upgrade` requests (WebSocket, or any other protocol) on passthrough routes: the request
 * goes to legacy on a connection of its own (never a pooled one: it becomes the tunnel), and
 * legacy's 101 comes back with its header case, after which bytes are copied both ways until
 * either side closes; then both sockets close. Legacy declining (any other status) is relayed
 * as a normal answer ending the connection. Legacy unreachable, silent past `timeoutMs`, or
 * upgrades turned off: a problem+json answer, never a hang.
 *
 * Not http-proxy's ws pass: it has no timeout before the 101, relays a declined answer's
 * parsed headers with a body it already de-chunked, loses the header case, and closes the
 * client socket without an answer when legacy cannot be reached.
 */
export function createUpgradeHandler(opts: UpgradeOptions): UpgradeHandler {
  const { metrics } = opts;
  const basePath = opts.upstream.pathname.replace(/\/$/, '');
  const tunnels = new Set<Duplex>();

  function handle(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const requestId = ensureRequestId(req);
    // A client that vanishes before the tunnel is up must not crash the process.
    socket.on('error', () => socket.destroy());
    if (!opts.enabled) {
      metrics?.upgrades.inc({ outcome: 'refused' });
      writeProblem(
        socket,
        501,
        'upgrades_disabled',
        'Upgrade requests (WebSocket) are turned off on this sidecar (legacy.upgrades: false).',
        requestId,
      );
      return;
    }
    const headers = addForwarded(endToEndRawHeaders(req.rawHeaders), req);
    headers.push('Connection', 'Upgrade', 'Upgrade', String(req.headers.upgrade ?? ''));
    const out = http.request({
      protocol: opts.upstream.protocol,
      hostname: opts.upstream.hostname,
      port: opts.upstream.port,
      method: req.method,
      path: basePath + (req.url ?? '/'),
      headers: headers as unknown as http.OutgoingHttpHeaders,
      agent: false,
    });
    out.setTimeout(opts.timeoutMs, () => {
      out.destroy(Object.assign(new Error(`legacy did not answer within ${opts.timeoutMs} ms`), { code: 'UPSTREAM_TIMEOUT' }));
    });
    const onClientGone = () => out.destroy();
    socket.once('close', onClientGone);

    let answered = false;
    out.once('error', (err: NodeJS.ErrnoException) => {
      socket.off('close', onClientGone);
      if (socket.destroyed) return; // the client left first: nothing to answer
      if (answered) {
        socket.destroy(); // legacy's answer was cut: cut the client's too, as on the passthrough
        return;
      }
      opts.health?.failed(err);
      const { status, reason } = classifyUpstreamError(err);
      metrics?.upstreamErrors.inc({ reason });
      metrics?.upgrades.inc({ outcome: 'failed' });
      writeProblem(socket, status, `upstream_${reason}`, UPSTREAM_DETAIL, requestId, reason);
    });

    // Legacy declined the upgrade: its answer, then the end of this connection (the client
    // sent a request the server treats as an upgrade, so it is not reused).
    out.once('response', (res) => {
      answered = true;
      socket.off('close', onClientGone);
      opts.health?.succeeded();
      metrics?.upgrades.inc({ outcome: 'declined' });
      // The body arrives de-chunked: sent as is and delimited by the close (or its length).
      const raw = endToEndRawHeaders(res.rawHeaders);
      raw.push('Connection', 'close');
      socket.write(headBytes(res.statusCode ?? 502, res.statusMessage ?? '', raw));
      res.pipe(socket);
      res.once('close', () => {
        if (!res.complete) socket.destroy();
      });
    });

    out.once('upgrade', (res, upstreamSocket, upstreamHead) => {
      answered = true;
      socket.off('close', onClientGone);
      opts.health?.succeeded();
      upstreamSocket.setTimeout(0); // the timeout was for the answer; a tunnel may idle
      if (socket.destroyed) {
        upstreamSocket.destroy();
        return;
      }
      metrics?.upgrades.inc({ outcome: 'tunnelled' });
      metrics?.upgradesOpen.inc();
      tunnels.add(socket);
      const raw = endToEndRawHeaders(res.rawHeaders);
      raw.push('Connection', 'Upgrade', 'Upgrade', String(res.headers.upgrade ?? ''));
      socket.write(headBytes(101, res.statusMessage ?? '', raw));
      if (upstreamHead.length) socket.write(upstreamHead);
      if (head.length) upstreamSocket.write(head);
      for (const s of [socket, upstreamSocket] as const) {
        (s as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
      }
      upstreamSocket.on('error', () => upstreamSocket.destroy());
      // One side's end (FIN) is passed on by the pipes; when either socket is fully closed,
      // or fails, the other one is closed too.
      upstreamSocket.pipe(socket);
      socket.pipe(upstreamSocket);
      let closed = false;
      const closeBoth = () => {
        if (closed) return;
        closed = true;
        tunnels.delete(socket);
        metrics?.upgradesOpen.dec();
        socket.destroy();
        upstreamSocket.destroy();
      };
      socket.once('close', closeBoth);
      upstreamSocket.once('close', closeBoth);
    });
    out.end();
  }

  return {
    handle,
    refuse(req, socket, route) {
      socket.on('error', () => socket.destroy());
      metrics?.upgrades.inc({ outcome: 'refused' });
      writeProblem(
        socket,
        501,
        'upgrade_on_command_route',
        `${route} is a command route: an Upgrade request there is not tunnelled (the command would not be captured).`,
        ensureRequestId(req),
      );
    },
    get open() {
      return tunnels.size;
    },
    closeAll() {
      for (const s of tunnels) s.destroy();
    },
  };
}

const UPSTREAM_DETAIL = 'The Upgrade request could not be passed to the legacy service.';

function headBytes(status: number, message: string, raw: string[]): string {
  let head = `HTTP/1.1 ${status} ${message || STATUS_CODES[status] || ''}\r\n`;
  for (let i = 0; i < raw.length; i += 2) head += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return head + '\r\n';
}

/** A problem+json answer on a raw socket, then the end of the connection. */
function writeProblem(socket: Duplex, status: number, title: string, detail: string, requestId: string, reason?: string): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ type: `https://strangler-sidecar.dev/problems/${title}`, title, status, detail, requestId });
  const raw = ['Content-Type', 'application/problem+json', 'Content-Length', String(Buffer.byteLength(body)), 'Connection', 'close'];
  if (reason) raw.push('X-Strangler-Error', reason);
  socket.end(headBytes(status, '', raw) + body);
}
