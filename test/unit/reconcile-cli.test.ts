import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createAdminServer } from '../../src/admin/adminServer.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { main } from '../../src/cli/main.ts';
import { formatReport, worstExit } from '../../src/cli/reconcileFormat.ts';
import { RECONCILE_USAGE } from '../../src/cli/reconcile.ts';
import type { ReconcileReport } from '../../src/reconcile/report/types.ts';

async function cli(...args: string[]) {
  return cliWith({}, ...args);
}

async function cliWith(env: Record<string, string>, ...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['reconcile', ...args], { out: (l) => out.push(l), err: (l) => err.push(l), env });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const report = (o: Partial<ReconcileReport>): ReconcileReport =>
  ({
    runId: 1,
    entity: 'orders',
    verdict: 'within_tolerance',
    mismatchRate: 0,
    tolerance: 0,
    legacyRows: 10,
    readModelRows: 10,
    matched: 10,
    missingInProjection: 0,
    extraInProjection: 0,
    differing: 0,
    differingColumns: {},
    pending: 0,
    resolvedOnRecheck: 0,
    durationMs: 300,
    rowsPerSecond: 33,
    chunks: 1,
    prefilteredChunks: 0,
    prefilter: { enabled: false, reason: 'off' },
    tableSha256: { legacy: 'a', readModel: 'a' },
    trend: null,
    skippedChunks: [],
    samples: [],
    ...o,
  }) as ReconcileReport;

describe('strangler reconcile: usage and exit codes', () => {
  it('--help and -h print the reconcile usage with the exit codes and exit 0', async () => {
    for (const flag of ['--help', '-h']) {
      const r = await cli(flag);
      expect(r.code).toBe(0);
      expect(r.out).toContain('strangler reconcile --repair [--apply]');
      expect(r.out).toMatch(/exit: 0 within tolerance, 1 over tolerance, 2 error, 3 inconclusive/);
      expect(r.out).toContain('--config FILE');
      expect(r.err).toBe('');
    }
  });

  it('an unknown flag is named, with the reconcile usage, and exits 2', async () => {
    const r = await cli('--x');
    expect(r.code).toBe(2);
    expect(r.err).toBe(`strangler reconcile: unknown option --x\n\nUsage:\n${RECONCILE_USAGE}`);
    expect(r.out).toBe('');
  });

  it('the worst exit of several entities: error 2 > over 1 > inconclusive 3 > within 0', () => {
    expect(worstExit([])).toBe(0);
    expect(worstExit([0, 3])).toBe(3);
    expect(worstExit([3, 1, 0])).toBe(1);
    expect(worstExit([1, 2, 3])).toBe(2);
  });

  it('prints rows/s only for a run of a second or more, and the reason of an inconclusive verdict', () => {
    expect(formatReport(report({ durationMs: 300 })).join('\n')).not.toMatch(/rows\/s/);
    expect(formatReport(report({ durationMs: 2500, rowsPerSecond: 4 })).join('\n')).toMatch(/2\.5 s, 4 rows\/s/);
    // 2 s of wall time, nearly all of it the grace wait before the re-check: the rows were read in 5 ms.
    expect(formatReport(report({ durationMs: 2000, readMs: 5, rowsPerSecond: 10_800 })).join('\n')).not.toMatch(/rows\/s/);
    expect(formatReport(report({ durationMs: 3000, readMs: 1500, rowsPerSecond: 700 })).join('\n')).toMatch(/3\.0 s, 700 rows\/s/);
    const inconclusive = formatReport(report({ verdict: 'inconclusive', verdictReason: 'projection orders is paused' }));
    expect(inconclusive[0]).toMatch(/orders: run 1, INCONCLUSIVE/);
    expect(inconclusive[1]).toBe('  inconclusive: projection orders is paused');
  });

  it('a sidecar with reconciliation off is named as such (exit 2), and so is one that does not answer', async () => {
    const server = createAdminServer({
      registry: new Registry(),
      logger: silentLogger(),
      readiness: { ready: () => true, details: async () => ({}) },
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const off = await cliWith({ STRANGLER_ADMIN_URL: url, STRANGLER_ADMIN_TOKEN: 't' });
      expect(off.code).toBe(2);
      expect(off.err).toMatch(/has reconciliation off \(it needs legacy.database.url/);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
    const none = await cliWith({ STRANGLER_ADMIN_URL: url });
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/No sidecar admin API answers at .*give --config FILE/);
  });
});
