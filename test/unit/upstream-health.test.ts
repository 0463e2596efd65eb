import http from 'node:http';
import net from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { startSidecar, type Sidecar } from '../../src/sidecar.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * A sidecar in front of a legacy service that refuses connections, then comes up: real
 * HTTP on loopback, the sidecar's own log captured.
 */

interface LogLine {
  level: number;
  msg: string;
  failures?: number;
  err?: string;
}

const lines: LogLine[] = [];
const logger = pino(
  { level: 'info' },
  new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as LogLine);
      done();
    },
  }),
);
const spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), 'strangler-upstream-health-'));
let sidecar: Sidecar | undefined;
let legacy: http.Server | undefined;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function waitFor<T>(fn: () => T | undefined, what: string, timeoutMs = 20_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Readyz {
  status: string;
  upstream: { status: string; consecutiveFailures: number; lastError: string | null };
}
async function readyz(): Promise<{ code: number; body: Readyz }> {
  const res = await fetch(`${sidecar!.adminUrl}/readyz`);
  return { code: res.status, body: (await res.json()) as Readyz };
}

afterAll(async () => {
  await sidecar?.stop();
  await new Promise((r) => (legacy ? legacy.close(r) : r(undefined)));
  fs.rmSync(spoolDir, { recursive: true, force: true });
});

describe('upstream trouble is visible', () => {
  it(
    'refused connections are logged rate-limited, /readyz goes 503 after unreadyAfterFailures and recovers when legacy comes up',
    { timeout: 90_000 },
    async () => {
      const port = await freePort();
      const config = loadConfig({
        file: 'examples/legacy-orders/strangler.yaml',
        env: { STRANGLER_LEGACY_UPSTREAM: `http://127.0.0.1:${port}`, STRANGLER_EVENTSTORE_URL: 'memory' },
      });
      Object.assign(config.server, { host: '127.0.0.1', port: 0 });
      Object.assign(config.admin, { host: '127.0.0.1', port: 0 });
      config.eventStore.spool.path = spoolDir;
      expect(config.legacy.unreadyAfterFailures).toBe(5);
      sidecar = await startSidecar({ config, logger, spoolFsync: false, upstreamLogIntervalMs: 3000, projections: false });

      expect((await readyz()).body.upstream.status).toBe('unknown');

      // 20 refused requests, passthrough and command path: 504 each, one log line at once.
      const statuses = await Promise.all([
        ...Array.from({ length: 19 }, () => fetch(`${sidecar!.publicUrl}/health-of-legacy`).then((r) => r.status)),
        fetch(`${sidecar.publicUrl}/orders`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } }).then(
          (r) => r.status,
        ),
      ]);
      expect(new Set(statuses)).toEqual(new Set([504]));
      const unreachable = () => lines.filter((l) => l.msg.startsWith('legacy upstream unreachable'));
      const still = () => lines.filter((l) => l.msg.startsWith('legacy upstream still unreachable'));
      expect(unreachable()).toHaveLength(1);
      expect(unreachable()[0]!.err).toMatch(/^ECONNREFUSED/);
      expect(still()).toHaveLength(0);

      // Then one line per interval with the count of the failures since the first line.
      const counted = await waitFor(() => still()[0], 'the per-interval line');
      expect(counted.failures).toBe(19);
      expect(unreachable()).toHaveLength(1);

      // 20 connection failures in a row: not ready, with the last error and the count.
      const down = await readyz();
      expect(down.code).toBe(503);
      expect(down.body.status).toBe('not_ready');
      expect(down.body.upstream.status).toBe('unreachable');
      expect(down.body.upstream.consecutiveFailures).toBeGreaterThanOrEqual(20);
      expect(down.body.upstream.lastError).toMatch(/^ECONNREFUSED/);

      // Legacy comes up: the next /readyz connects, and the sidecar is ready again.
      legacy = http.createServer((_req, res) => res.end('ok'));
      await new Promise<void>((r) => legacy!.listen(port, '127.0.0.1', r));
      const up = await readyz();
      expect(up.code).toBe(200);
      expect(up.body.upstream).toMatchObject({ status: 'reachable', consecutiveFailures: 0 });
      expect(lines.filter((l) => l.msg === 'legacy upstream is reachable again')).toHaveLength(1);
      expect((await fetch(`${sidecar.publicUrl}/health-of-legacy`)).status).toBe(200);
    },
  );

  it('fewer failures than unreadyAfterFailures report unreachable but stay ready', { timeout: 90_000 }, async () => {
    const port = await freePort();
    const config = loadConfig({
      text: `legacy: { upstream: "http://127.0.0.1:${port}", unreadyAfterFailures: 10 }\neventStore: { url: memory }\n`,
      env: {},
    });
    Object.assign(config.server, { host: '127.0.0.1', port: 0 });
    Object.assign(config.admin, { host: '127.0.0.1', port: 0 });
    config.eventStore.spool.path = fs.mkdtempSync(path.join(spoolDir, 'b-'));
    const other = await startSidecar({ config, logger: pino({ level: 'silent' }), spoolFsync: false, projections: false });
    try {
      expect((await fetch(`${other.publicUrl}/x`)).status).toBe(504);
      const res = await fetch(`${other.adminUrl}/readyz`);
      const body = (await res.json()) as Readyz;
      expect(res.status).toBe(200);
      expect(body.upstream.status).toBe('unreachable');
      expect(body.upstream.consecutiveFailures).toBe(2); // the request, and the probe /readyz made
    } finally {
      await other.stop();
    }
  });
});
