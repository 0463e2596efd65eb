#!/usr/bin/env node
/**
 * bench/proxy's reference: bare http-proxy-middleware in a minimal node:http server, with the
 * options the sidecar gives it (parsed target, the same keep-alive agent, xfwd, no
 * changeOrigin, default plugins ejected) and nothing else: no route table, request id,
 * metrics, hop-by-hop filter, header case, error answers or background work. What the
 * sidecar's passthrough costs above this is the sidecar's own.
 *
 *   node bench/upstream/hpm.mjs UPSTREAM_URL [PORT]     (0 or absent: a free port)
 *
 * Prints one line `listening PORT` on stdout once it accepts connections; exits on SIGTERM.
 */
import http from 'node:http';
import { parse as parseUrl } from 'node:url';
import { createProxyMiddleware } from 'http-proxy-middleware';

const agent = new http.Agent({ keepAlive: true, maxSockets: 512, maxFreeSockets: 256, scheduling: 'lifo' });
const proxy = createProxyMiddleware({
  target: parseUrl(process.argv[2]),
  agent,
  xfwd: true,
  changeOrigin: false,
  ejectPlugins: true,
  // An upstream failure must not crash the reference: answer 502 and go on.
  plugins: [
    (server) =>
      server.on('error', (_err, _req, res) => {
        if (res instanceof http.ServerResponse && !res.headersSent) res.writeHead(502).end();
        else res.destroy();
      }),
  ],
});
const server = http.createServer((req, res) => void proxy(req, res));
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
server.requestTimeout = 0;
server.listen(Number(process.argv[3] ?? 0), '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  agent.destroy();
});
