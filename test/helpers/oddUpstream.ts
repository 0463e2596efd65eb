/**
 * Upstreams that misbehave the ways a real legacy service does, made of a bare `net`
 * server so they can break HTTP: answer garbage, never answer, close mid-request. Each
 * connection's request (head and Content-Length body) is read completely before the
 * behaviour runs, so the peer never sees a reset for unread bytes by accident.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  path: string;
  /** [name, value, …] as received. */
  rawHeaders: string[];
  body: Buffer;
}

export type Behaviour = (request: ReceivedRequest, socket: net.Socket) => void;

export interface OddUpstream {
  url: string;
  port: number;
  /** Every request received, in arrival order. */
  requests: ReceivedRequest[];
  close(): Promise<void>;
}

/** Writes bytes that are not an HTTP response, then closes: a client's parser must fail. */
export const answerGarbage: Behaviour = (_req, socket) => {
  socket.end('this is not HTTP at all\r\n\r\n');
};

/** Reads the request and never answers (the socket stays open until the peer gives up). */
export const neverAnswer: Behaviour = () => {};

/**
 * Sends a 200 head and the first bytes of the body, then drops the connection: legacy
 * crashing mid-answer. `framing` picks how the promised body was declared.
 */
export const truncatedBody =
  (framing: 'chunked' | 'content-length'): Behaviour =>
  (_req, socket) => {
    const head = framing === 'chunked' ? 'Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n' : 'Content-Length: 100\r\n\r\nhello';
    socket.write(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n${head}`);
    setTimeout(() => socket.destroy(), 30);
  };

/** Closes the connection without a byte of response. */
export const hangUp: Behaviour = (_req, socket) => {
  socket.end();
};

export async function startOddUpstream(behaviour: Behaviour): Promise<OddUpstream> {
  const requests: ReceivedRequest[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffered = Buffer.alloc(0);
    let head: { method: string; path: string; rawHeaders: string[]; bodyStart: number; length: number } | undefined;
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (!head) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end === -1) return;
        const [requestLine = '', ...lines] = buffered.subarray(0, end).toString('latin1').split('\r\n');
        const [method = '', path = ''] = requestLine.split(' ');
        const rawHeaders = lines.flatMap((l) => {
          const colon = l.indexOf(':');
          return [l.slice(0, colon), l.slice(colon + 1).trim()];
        });
        let length = 0;
        for (let i = 0; i < rawHeaders.length; i += 2)
          if (rawHeaders[i]!.toLowerCase() === 'content-length') length = Number(rawHeaders[i + 1]);
        head = { method, path, rawHeaders, bodyStart: end + 4, length };
      }
      if (buffered.length < head.bodyStart + head.length) return;
      socket.off('data', onData);
      const request = {
        method: head.method,
        path: head.path,
        rawHeaders: head.rawHeaders,
        body: buffered.subarray(head.bodyStart, head.bodyStart + head.length),
      };
      requests.push(request);
      behaviour(request, socket);
    };
    socket.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A loopback port nothing listens on (bound, then released): connecting to it is refused. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
