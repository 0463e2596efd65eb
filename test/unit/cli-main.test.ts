import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createAdminServer } from '../../src/admin/adminServer.ts';
import type { SidecarStatus } from '../../src/admin/statusRoutes.ts';
import { main } from '../../src/cli/main.ts';
import { describeUpstream, formatStatus } from '../../src/cli/status.ts';
import { COMMAND_USAGE } from '../../src/cli/usage.ts';
import { silentLogger } from '../../src/logging/logger.ts';

async function cli(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l), env: {} });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const COMMANDS = Object.keys(COMMAND_USAGE) as (keyof typeof COMMAND_USAGE)[];
const SUBCOMMANDS = [
  ['projections', 'status'],
  ['projections', 'pause', 'orders'],
  ['projections', 'resume', 'orders'],
  ['projections', 'skip', 'orders'],
  ['projections', 'rebuild', 'orders'],
  ['projections', 'run'],
  ['doctor', 'verify', 'orders-1'],
  ['config', 'check'],
  ['reconcile', '--repair'],
];

describe('strangler --help, --version, unknown options and commands', () => {
  it.each(COMMANDS)('strangler %s --help and -h print its usage and exit 0', async (command) => {
    for (const flag of ['--help', '-h']) {
      const r = await cli(command, flag);
      expect([r.code, r.err]).toEqual([0, '']);
      expect(r.out).toBe(`Usage:\n${COMMAND_USAGE[command]}`);
    }
    expect((await cli('help', command)).out).toBe(`Usage:\n${COMMAND_USAGE[command]}`);
  });

  it.each(SUBCOMMANDS)('strangler %s %s … --help exits 0 without doing anything', async (...args) => {
    const r = await cli(...args, '--help');
    expect([r.code, r.err]).toEqual([0, '']);
    expect(r.out).toMatch(/^Usage:\n {2}strangler /);
  });

  it('strangler --help lists the exit codes and which commands use the admin API or the databases', async () => {
    const r = await cli('--help');
    expect(r.code).toBe(0);
    expect(r.out).toContain('Exit codes: 0 success, 1 failure, 2 bad configuration or usage, 3 inconclusive');
    expect(r.out).toMatch(/Operate a running sidecar \(clients of its admin API[^]*strangler status[^]*strangler reconcile/);
    expect(r.out).toMatch(/Use the databases directly[^]*strangler migrate[^]*strangler doctor/);
    expect(COMMAND_USAGE.migrate).toMatch(/uses the database directly/);
    expect(COMMAND_USAGE.doctor).toMatch(/use the event store directly/);
    expect((await cli('help')).out).toBe(r.out);
  });

  it('strangler --version and -v print the package version', async () => {
    const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    for (const flag of ['--version', '-v', 'version'])
      expect(await cli(flag)).toEqual({ code: 0, out: `strangler-sidecar ${version}`, err: '' });
  });

  it.each([
    ['status', '--bogus'],
    ['projections', 'status', '--bogus'],
    ['migrate', '--bogus=1'],
    ['doctor', '--bogus'],
    ['start', '-x'],
    ['config', 'check', '--bogus'],
    ['reconcile', '--bogus'],
  ])('strangler %s %s: names the option, prints that command’s usage, nothing else, exit 2', async (...args) => {
    const r = await cli(...args);
    const command = args[0] as keyof typeof COMMAND_USAGE;
    const flag = args[args.length - 1]!.replace(/=.*$/, '');
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toBe(`strangler ${command}: unknown option ${flag}\n\nUsage:\n${COMMAND_USAGE[command]}`);
  });

  it('an unknown command is named with the usage, exit 2; no command at all is the usage, exit 2', async () => {
    const r = await cli('statsu');
    expect([r.code, r.out]).toEqual([2, '']);
    expect(r.err).toMatch(/^strangler: unknown command "statsu"\n\nstrangler: a sidecar/);
    expect((await cli('help', 'statsu')).code).toBe(2);
    expect((await cli('--frobnicate')).err).toMatch(/^strangler: unknown option --frobnicate\n\n/);
    const none = await cli();
    expect([none.code, none.out]).toEqual([2, '']);
    expect(none.err).toMatch(/^strangler: a sidecar/);
  });

  it('bad arguments to a subcommand: what is wrong, then the usage, exit 2', async () => {
    const r = await cli('projections', 'pause');
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      `strangler projections pause needs a projection name (example: strangler projections pause orders).\n\nUsage:\n${COMMAND_USAGE.projections}`,
    );
    expect((await cli('projections', 'status', '--reason', 'x')).err).toMatch(/^--reason goes with pause, resume, skip or rebuild/);
    expect((await cli('projections', 'status', '--config', 'x.yaml', '--admin', 'http://h')).err).toMatch(/do not go together/);
    expect((await cli('projections', 'explode')).err).toMatch(/^strangler projections: unknown subcommand "explode"/);
    expect((await cli('status', 'extra')).code).toBe(2);
  });
});

describe('strangler status screen', () => {
  const base: SidecarStatus = {
    ready: true,
    upstream: null,
    eventStore: { description: 'postgres://127.0.0.1/events', reachable: true, headPosition: 42, error: null },
    spool: { depth: 0, draining: false, halted: false, failures: 0, drainedTotal: 3, ratePerSecond: 0, lastError: null },
    projections: [],
    projectionsError: null,
    entities: [
      {
        name: 'orders',
        stage: 'dual_write',
        percent: 0,
        paused: false,
        projection: 'orders',
        lastReconciliation: { runId: 7, status: 'failed', verdict: 'failed', mismatchRate: null, finishedAt: 'T', error: 'legacy down' },
      },
      { name: 'notes', stage: 'passthrough', percent: 0, paused: false, projection: null, lastReconciliation: null },
      { name: 'customers', stage: 'canary', percent: 25, paused: true, projection: 'customers', lastReconciliation: null },
    ],
    reconciliationsError: null,
    generatedAt: 'T',
  };

  it('reads the upstream defensively: absent, a state, or an object with a state', () => {
    expect(describeUpstream(undefined)).toBe('not reported by this sidecar');
    expect(describeUpstream('unreachable')).toBe('unreachable');
    expect(describeUpstream({ state: 'unreachable', url: 'http://127.0.0.1:3000', consecutiveFailures: 6 })).toBe(
      'unreachable (url http://127.0.0.1:3000, consecutiveFailures 6)',
    );
    expect(describeUpstream({ reachable: true })).toBe('reachable');
  });

  it('shows what is missing instead of failing: an unreachable store, projections unavailable, a failed run', () => {
    const lines = formatStatus(
      {
        ...base,
        ready: false,
        eventStore: { ...base.eventStore, reachable: false, headPosition: null, error: 'connect ECONNREFUSED' },
        projections: null,
        projectionsError: 'the projection status did not answer within 5000 ms',
      },
      'http://127.0.0.1:9090',
    ).join('\n');
    expect(lines).toContain('sidecar http://127.0.0.1:9090: NOT READY');
    expect(lines).toContain('event store  postgres://127.0.0.1/events, UNREACHABLE: connect ECONNREFUSED');
    expect(lines).toContain('projections: unavailable (the projection status did not answer within 5000 ms)');
    expect(lines).toMatch(/orders\s+dual_write\s+orders\s+run 7 failed, finished T: legacy down/);
    expect(lines).toMatch(/notes\s+passthrough\s+-\s+none yet/);
    expect(lines).toMatch(/customers\s+canary 25 % \(paused\)\s+customers\s+none yet/);
  });
});

describe('admin server probes and 404', () => {
  it('lists the endpoints it serves and never suggests the path just requested', async () => {
    const server = createAdminServer({
      registry: new Registry(),
      logger: silentLogger(),
      readiness: { ready: () => true, details: () => Promise.resolve({}) },
      endpoints: ['/admin/status', '/admin/projections'],
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      for (const path of ['/admin/reconciliations', '/metrics/', '/admin/status']) {
        const res = await fetch(base + path);
        const body = (await res.json()) as { detail: string };
        expect(res.status).toBe(404); // no route handlers mounted here: even /admin/status is unknown
        const suggested = body.detail.replace(`No admin endpoint at ${path}.`, '');
        expect(suggested).not.toMatch(new RegExp(`${path.replace(/[/]/g, '\\/')}(,|\\.|$)`));
        expect(body.detail).toMatch(/This sidecar serves \/healthz, \/readyz, \/metrics/);
      }
      const post = await fetch(`${base}/nowhere`, { method: 'POST' });
      expect(post.status).toBe(404); // not a 405 "the probes answer GET" for a path that does not exist
      expect((await fetch(`${base}/healthz`, { method: 'POST' })).status).toBe(405);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it("answers the probes and /metrics without Express, leaving node's request and response objects as they are", async () => {
    const registry = new Registry();
    const server = createAdminServer({
      registry,
      logger: silentLogger(),
      readiness: { ready: () => false, details: () => Promise.resolve({ spool: 0 }) },
    });
    // Express swaps the prototypes of what it handles (its req/res): seen here by a second listener once answered.
    const protos: [string, boolean][] = [];
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) =>
      res.on('finish', () =>
        protos.push([
          req.url!,
          Object.getPrototypeOf(req) === http.IncomingMessage.prototype && Object.getPrototypeOf(res) === http.ServerResponse.prototype,
        ]),
      ),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      expect(await (await fetch(`${base}/healthz?probe=kubelet`)).json()).toEqual({ status: 'ok' });
      const ready = await fetch(`${base}/readyz`);
      expect([ready.status, await ready.json()]).toEqual([503, { status: 'not_ready', spool: 0 }]);
      const head = await fetch(`${base}/readyz`, { method: 'HEAD' });
      expect([head.status, await head.text()]).toEqual([503, '']);
      const metrics = await fetch(`${base}/metrics`);
      expect([metrics.status, metrics.headers.get('content-type')]).toEqual([200, registry.contentType]);
      const disabled = await fetch(`${base}/health/event-store`);
      expect([disabled.status, ((await disabled.json()) as { detail: string }).detail]).toEqual([
        404,
        'The event store health check is not enabled on this sidecar.',
      ]);
      const post = await fetch(`${base}/metrics`, { method: 'POST' });
      expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET']);
      expect((await fetch(`${base}/nowhere`)).status).toBe(404); // through Express
      await new Promise((r) => setImmediate(r));
      const untouched = ['/healthz?probe=kubelet', '/readyz', '/readyz', '/metrics', '/health/event-store', '/metrics'].map((u) => [
        u,
        true,
      ]);
      expect(protos).toEqual([...untouched, ['/nowhere', false]]);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('answers 500 with the reason when a probe throws, and keeps serving', async () => {
    const details = () => {
      throw new Error('spool unreadable');
    };
    const server = createAdminServer({ registry: new Registry(), logger: silentLogger(), readiness: { ready: () => true, details } });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const res = await fetch(`${base}/readyz`);
      expect([res.status, ((await res.json()) as { detail: string }).detail]).toEqual([500, 'spool unreadable']);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
