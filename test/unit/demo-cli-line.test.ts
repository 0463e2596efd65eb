import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { runDemo } from '../../src/demo/runDemo.ts';
import { demoSample } from '../../examples/demo.ts';

/** Ports nobody listens on right now (the demo moves to free ones anyway if they are taken meanwhile). */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<http.Server>((resolve) => {
          const s = http.createServer();
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

describe('the demo prints one line that makes the CLI reach it', () => {
  it('export STRANGLER_ADMIN_URL=… STRANGLER_ADMIN_TOKEN=… as printed: status, pause orders and resume orders work', async () => {
    const [legacy, pub, admin] = await freePorts(3);
    const lines: string[] = [];
    let printed!: () => void;
    const ready = new Promise<void>((r) => (printed = r));
    let stop!: () => void;
    const until = new Promise<void>((r) => (stop = r));
    const demo = runDemo({
      sample: demoSample,
      env: {
        DEMO_LEGACY_PORT: String(legacy),
        STRANGLER_PUBLIC_PORT: String(pub),
        STRANGLER_ADMIN_PORT: String(admin),
        STRANGLER_ADMIN_TOKEN: 'token-set-before-npm-start',
        LOG_LEVEL: 'silent',
      },
      out: (l) => {
        lines.push(l);
        if (l.startsWith('A traffic generator')) printed();
      },
      dataDir: 'memory',
      until,
    });
    try {
      await Promise.race([ready, demo.then(() => Promise.reject(new Error(`the demo ended early:\n${lines.join('\n')}`)))]);
      const exportLine = lines.find((l) => l.trim().startsWith('export '))!.trim();
      expect(exportLine).toBe(`export STRANGLER_ADMIN_URL=http://127.0.0.1:${admin} STRANGLER_ADMIN_TOKEN=token-set-before-npm-start`);
      // What a shell makes of the pasted line: the two variables, nothing else of this process.
      const env = Object.fromEntries(
        exportLine
          .replace(/^export /, '')
          .split(' ')
          .map((kv) => kv.split('=') as [string, string]),
      );
      // As a shell splits them: words, and "quoted words" as one argument.
      const commands = lines
        .filter((l) => l.trim().startsWith('npx strangler '))
        .map((l) =>
          (
            l
              .trim()
              .replace(/^npx strangler /, '')
              .match(/"[^"]*"|\S+/g) ?? []
          ).map((a) => a.replace(/^"(.*)"$/, '$1')),
        );
      expect(commands).toContainEqual(['status']);
      expect(commands).toContainEqual(['projections', 'pause', 'orders', '--reason', 'test']);
      expect(commands).toContainEqual(['projections', 'resume', 'orders']);
      // The orders reads: the printed stage is the sidecar's; shadow when the sidecar can answer
      // every read route (the lines then move it to 10 %), else dual_write with the sidecar's reason.
      const readsLine = lines.find((l) => l.startsWith('Reads of orders: '));
      expect(readsLine).toBeDefined();
      const cli = async (args: string[]) => {
        const out: string[] = [];
        const err: string[] = [];
        const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l), env });
        return { code, out: out.join('\n'), err: err.join('\n') };
      };
      const stored = JSON.parse((await cli(['canary', 'status', 'orders', '--json'])).out) as { stage: string; updatedBy: string };
      expect(readsLine!.startsWith(`Reads of orders: ${stored.stage} (`)).toBe(true);
      expect(commands).toContainEqual(['canary', 'status']);
      if (stored.stage === 'shadow') {
        expect({ by: stored.updatedBy, line: readsLine }).toEqual({
          by: 'demo',
          line: 'Reads of orders: shadow (set by the demo at start).',
        });
        expect(commands).toContainEqual(['canary', 'set', 'orders', '--percent', '10', '--reason', 'shadow matches']);
        expect(lines).toContain(
          `  curl -s "http://127.0.0.1:${admin}/admin/shadow?entity=orders" -H "authorization: Bearer $STRANGLER_ADMIN_TOKEN"`,
        );
      } else {
        expect(stored.stage).toBe('dual_write');
        const probe = await cli(['canary', 'set', 'orders', '--stage', 'shadow', '--reason', 'probe']);
        expect(probe.code).not.toBe(0);
        expect(readsLine).toBe('Reads of orders: dual_write (the sidecar refused shadow).');
        const reason = lines[lines.indexOf(readsLine!) + 1]!.trim();
        expect(reason).toMatch(/^.{20,}$/);
        expect(probe.err).toContain(reason);
      }
      for (const args of commands.filter((c) => c[0] !== 'reconcile')) {
        const out: string[] = [];
        const err: string[] = [];
        const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l), env });
        expect({ args, code, err }).toEqual({ args, code: 0, err: [] });
        if (args[0] === 'status') expect(out[0]).toBe(`sidecar http://127.0.0.1:${admin}: ready`);
      }
    } finally {
      stop();
      await demo.catch(() => {});
    }
  }, 60_000);
});
