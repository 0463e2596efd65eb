/**
 * A tiny well-behaved upstream that records every request it receives (method, path,
 * raw headers, body) and answers 200 JSON `{ id, method, path, headers, bytes }` with a
 * fresh `id` per request, so a command route whose stream id comes from `$.id` can be
 * captured. Counting `requests` proves whether a request reached the upstream at all.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface EchoedRequest {
  method: string;
  path: string;
  rawHeaders: string[];
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface EchoUpstream {
  url: string;
  requests: EchoedRequest[];
  close(): Promise<void>;
}

export async function startEchoUpstream(): Promise<EchoUpstream> {
  const requests: EchoedRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.once('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({ method: req.method ?? '', path: req.url ?? '', rawHeaders: req.rawHeaders, headers: req.headers, body });
      const answer = JSON.stringify({
        id: `echo${requests.length}`,
        method: req.method,
        path: req.url,
        headers: req.headers,
        bytes: body.length,
      });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
      res.end(answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
