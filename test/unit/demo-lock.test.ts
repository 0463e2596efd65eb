import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * Two `strangler demo` processes on one data directory: the second exits 2 naming the
 * holder and the way out, and the first keeps serving with a healthy event store. Real
 * processes through bin/strangler.mjs, as `npm start` runs them.
 */

const BIN = path.resolve('bin/strangler.mjs');
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'strangler-demo-lock-'));
const children: ChildProcess[] = [];

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

async function demo(args: string[]) {
  const env = {
    ...process.env,
    DEMO_LEGACY_PORT: String(await freePort()),
    STRANGLER_PUBLIC_PORT: String(await freePort()),
    STRANGLER_ADMIN_PORT: String(await freePort()),
  };
  const child = spawn(process.execPath, [BIN, 'demo', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (c: Buffer) => (output.stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output.stderr += c.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output, exit, adminUrl: `http://127.0.0.1:${env.STRANGLER_ADMIN_PORT}` };
}

async function waitFor<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('one demo per data directory', () => {
  it(
    'a second demo on the same directory exits 2 naming the first; the first stays healthy and releases the lock on Ctrl-C',
    { timeout: 180_000 },
    async () => {
      const first = await demo(['--data', dataDir]);
      await waitFor(async () => ((await fetch(`${first.adminUrl}/readyz`)).ok ? true : undefined), 'the first demo to be ready');

      const second = await demo(['--data', dataDir]);
      expect(await second.exit).toBe(2);
      expect(second.output.stderr).toContain(
        `The data directory ${dataDir} is in use by another process (strangler demo, pid ${first.child.pid} on host ${os.hostname()}, since `,
      );
      expect(second.output.stderr).toContain('strangler demo --data DIR');
      expect(second.output.stderr).toContain('strangler demo memory');
      expect(second.output.stderr).not.toMatch(/\n\s+at /); // no stack trace

      // The positional form names the same directory and is refused the same way.
      const third = await demo([dataDir]);
      expect(await third.exit).toBe(2);

      const health = await fetch(`${first.adminUrl}/health/event-store`);
      const body = (await health.json()) as { status: string };
      expect({ status: health.status, body: body.status }).toEqual({ status: 200, body: 'healthy' });
      expect(first.child.exitCode).toBeNull();

      first.child.kill('SIGINT');
      expect(await first.exit).toBe(0);
      expect(first.output.stdout).toContain('stopped cleanly.');
      for (const lock of ['strangler.lock', 'eventstore/strangler.lock', 'legacy/strangler.lock', 'spool/strangler.lock'])
        expect(fs.existsSync(path.join(dataDir, lock)), lock).toBe(false);
    },
  );
});
