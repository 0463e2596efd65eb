/**
 * A tiny RFC 6455 client and echo server for the upgrade tests, on raw sockets: enough of the
 * protocol to see every byte of a message cross the sidecar (no extensions, unfragmented
 * frames, 7/16/64-bit lengths, masked client frames). The server echoes text and binary
 * messages; the text `close-please` makes it close first; a close frame is answered with one.
 * No `ws` dependency: the point is the bytes on the wire, and this is small.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
export const OP = { text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

export interface Frame {
  opcode: number;
  payload: Buffer;
}

export function encodeFrame(opcode: number, payload: Buffer, mask: boolean): Buffer {
  const len = payload.length;
  const head: number[] = [0x80 | opcode];
  const maskBit = mask ? 0x80 : 0;
  if (len < 126) head.push(maskBit | len);
  else if (len < 65536) head.push(maskBit | 126, len >> 8, len & 0xff);
  else {
    head.push(maskBit | 127, 0, 0, 0, 0);
    head.push((len >>> 24) & 0xff, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff);
  }
  if (!mask) return Buffer.concat([Buffer.from(head), payload]);
  const key = randomBytes(4);
  const body = Buffer.alloc(len);
  for (let i = 0; i < len; i++) body[i] = payload[i]! ^ key[i & 3]!;
  return Buffer.concat([Buffer.from(head), key, body]);
}

/** Reads frames off a byte stream as they complete. */
export function frameReader(onFrame: (f: Frame) => void): (chunk: Buffer) => void {
  let buf = Buffer.alloc(0);
  return (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      if (buf.length < 2) return;
      const opcode = buf[0]! & 0x0f;
      const masked = (buf[1]! & 0x80) !== 0;
      let len = buf[1]! & 0x7f;
      let at = 2;
      if (len === 126) {
        if (buf.length < 4) return;
        len = buf.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (buf.length < 10) return;
        len = Number(buf.readBigUInt64BE(2));
        at = 10;
      }
      const keyAt = at;
      if (masked) at += 4;
      if (buf.length < at + len) return;
      const payload = Buffer.from(buf.subarray(at, at + len));
      if (masked) for (let i = 0; i < len; i++) payload[i] = payload[i]! ^ buf[keyAt + (i & 3)]!;
      buf = buf.subarray(at + len);
      onFrame({ opcode, payload });
    }
  };
}

export interface WsEchoUpstream {
  url: string;
  /** Raw header pairs of each Upgrade request received. */
  upgrades: { path: string; rawHeaders: string[] }[];
  /** Server-side sockets of tunnels, open or closed. */
  sockets: Duplex[];
  close(): Promise<void>;
}

/**
 * Accepts a WebSocket upgrade on any path except `/declined` (a 404 with a chunked body) and
 * `/silent` (never answers). The 101 carries `X-Upstream-Case: Kept` and a hop-by-hop
 * `Keep-Alive`, to see what crosses.
 */
export async function startWsEchoUpstream(): Promise<WsEchoUpstream> {
  const upgrades: WsEchoUpstream['upgrades'] = [];
  const sockets: Duplex[] = [];
  const all = new Set<Duplex>();
  const server = http.createServer((_req, res) => res.end('not a websocket request'));
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex) => {
    upgrades.push({ path: req.url ?? '', rawHeaders: req.rawHeaders });
    all.add(socket);
    socket.once('close', () => all.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.on('end', () => socket.end()); // the other side is gone: close ours too, as WebSocket servers do
    if (req.url === '/silent') return;
    if (req.url === '/declined') {
      socket.end(
        'HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n' +
          '6\r\nno web\r\n8\r\nsocket. \r\n5\r\nhere.\r\n0\r\n\r\n',
      );
      return;
    }
    sockets.push(socket);
    const accept = createHash('sha1')
      .update(String(req.headers['sec-websocket-key']) + GUID)
      .digest('base64');
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade, Keep-Alive\r\nKeep-Alive: timeout=5\r\n' +
        `Sec-WebSocket-Accept: ${accept}\r\nX-Upstream-Case: Kept\r\n\r\n`,
    );
    socket.on(
      'data',
      frameReader((f) => {
        if (f.opcode === OP.close) {
          socket.end(encodeFrame(OP.close, f.payload, false));
        } else if (f.opcode === OP.text && f.payload.toString() === 'close-please') {
          socket.end(encodeFrame(OP.close, Buffer.from([0x03, 0xe8]), false)); // 1000
        } else socket.write(encodeFrame(f.opcode, f.payload, false));
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    upgrades,
    sockets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of all) s.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export interface WsClient {
  status: number;
  /** The answer's head as raw [name, value, ...] pairs, names as sent. */
  rawHeaders: string[];
  /** Bytes after the head when the answer is not a 101 (until the server closed). */
  body(): Promise<Buffer>;
  send(opcode: number, payload: Buffer | string): void;
  /** The next frame received (rejects when the connection closes first). */
  next(): Promise<Frame>;
  /** Resolves when the TCP connection is closed. */
  closed: Promise<void>;
  socket: net.Socket;
}

/** Opens a connection and sends a WebSocket upgrade request for `path`; resolves with the answer's head. */
export function wsConnect(
  baseUrl: string,
  path: string,
  extraHeaders: [string, string][] = [],
  opts: { method?: string; timeoutMs?: number } = {},
): Promise<WsClient> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const url = new URL(baseUrl);
  const socket = net.connect(Number(url.port), url.hostname);
  const frames: Frame[] = [];
  const waiting: { resolve: (f: Frame) => void; reject: (e: Error) => void }[] = [];
  let ended = false;
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const afterHead: Buffer[] = [];
  let upgraded = false;
  const read = frameReader((f) => {
    const w = waiting.shift();
    if (w) w.resolve(f);
    else frames.push(f);
  });
  void closed.then(() => {
    ended = true;
    for (const w of waiting.splice(0)) w.reject(new Error('connection closed before a frame'));
  });
  socket.on('error', () => socket.destroy());
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer to the upgrade of ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    let head = Buffer.alloc(0);
    const onHead = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      clearTimeout(timer);
      socket.off('data', onHead);
      const lines = head.subarray(0, end).toString('latin1').split('\r\n');
      const status = Number(lines[0]!.split(' ')[1]);
      const rawHeaders = lines.slice(1).flatMap((l) => {
        const i = l.indexOf(':');
        return [l.slice(0, i), l.slice(i + 1).trim()];
      });
      const rest = head.subarray(end + 4);
      upgraded = status === 101;
      socket.on('data', (c: Buffer) => (upgraded ? read(c) : afterHead.push(c)));
      if (rest.length) socket.emit('data', rest);
      resolve({
        status,
        rawHeaders,
        body: () => closed.then(() => Buffer.concat(afterHead)),
        send: (opcode, payload) => socket.write(encodeFrame(opcode, Buffer.from(payload), true)),
        next: () => {
          const f = frames.shift();
          if (f) return Promise.resolve(f);
          if (ended) return Promise.reject(new Error('connection closed before a frame'));
          return new Promise((res, rej) => waiting.push({ resolve: res, reject: rej }));
        },
        closed,
        socket,
      });
    };
    socket.on('data', onHead);
    socket.once('connect', () => {
      const headers: [string, string][] = [
        ['Host', url.host],
        ['Upgrade', 'websocket'],
        ['Connection', 'Upgrade'],
        ['Sec-WebSocket-Key', randomBytes(16).toString('base64')],
        ['Sec-WebSocket-Version', '13'],
        ...extraHeaders,
      ];
      socket.write(`${opts.method ?? 'GET'} ${path} HTTP/1.1\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`);
    });
    socket.once('close', () => {
      clearTimeout(timer);
      reject(new Error(`connection closed before an answer to the upgrade of ${path}`));
    });
  });
}

/** The value of a header in raw pairs (case-insensitive), undefined when absent. */
export function headerOf(raw: string[], name: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === name.toLowerCase()) return raw[i + 1];
  return undefined;
}
