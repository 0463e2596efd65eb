#!/usr/bin/env node
/**
 * The benchmark's legacy service: a node:http server that answers every request with the
 * same small JSON body (keep-alive), so the figures measure the proxy, not the upstream.
 * Plain JavaScript run by node directly (no TypeScript loader) and always in a process of
 * its own, so it never shares an event loop with the sidecar or the load generator.
 *
 *   node bench/upstream/server.mjs [PORT]     (0 or absent: a free port)
 *
 * Prints one line `listening PORT` on stdout once it accepts connections; exits on SIGTERM.
 */
import http from 'node:http';

const BODY = Buffer.from('{"id":"ord_0123456789","status":"PAID","totalAmount":"19.98"}');
const HEADERS = { 'content-type': 'application/json', 'content-length': String(BODY.length) };

function answer(res) {
  res.writeHead(200, HEADERS);
  res.end(BODY);
}

const server = http.createServer((req, res) => {
  // GET/HEAD carry no body; anything else is read to its end first, as a real service would.
  if (req.method === 'GET' || req.method === 'HEAD') return answer(res);
  req.on('data', () => {});
  req.on('end', () => answer(res));
});
// Longer than the load runs: idle keep-alive connections from the proxies stay open.
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
