/**
 * bench/footprint: what one sidecar costs per pod (it runs next to every replica).
 *   - cli_help_s: `node bin/strangler.mjs --help`, median wall time of BENCH_CLI_RUNS runs
 *     (default 15, after one warm-up run). Target ≤ 0.3. node_startup_s is `node -e 0` measured
 *     the same way in the same run: the floor no code of ours can go under.
 *   - ready_s: spawning `bin/strangler.mjs start --config examples/legacy-orders/strangler.yaml`
 *     (the shipped spec; event store and read model on PostgreSQL 15, legacy database set) to
 *     the first 200 from /readyz (polled every 20 ms), median of the starts after the first (BENCH_STARTS,
 *     default 6) on a store already migrated; ready_first_s is the first start, migrations included.
 *     Target ≤ 1.
 *   - idle_rss_mb: the sidecar's resident set (/proc/PID/status VmRSS) BENCH_IDLE_SECONDS
 *     (default 10) after /readyz answered 200, no traffic. Target ≤ 80.
 *   - loaded_rss_mb: its resident set at the end of BENCH_LOAD_SECONDS (default 30) of load
 *     through the sidecar: 8 loops, each creating an order (an OrderCreated event appended,
 *     projected) then reading it back and listing a customer's orders, 1 in 4 adding an item.
 *     Target ≤ 120. peak_rss_mb is the high-water mark (VmHWM) over the whole run;
 *     loaded_heap_used_mb / loaded_external_mb the V8 heap and external memory from the
 *     sidecar's own metrics (prom-client's default metrics) at the same moment.
 * The bin runs as a file (`bin/strangler.mjs …`, as `strangler …` does), so with the V8 flags
 * of its #! line. The sidecar runs from dist/ (built first when dist/ is missing or stale: see
 * bin/distState.mjs); settings.runs_from says which. The machine is shared: cpu_idle_before_pct
 * says how idle it was.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { freePort, startPostgres, type PgServer } from '../test/harness/servers.ts';
import { percentile, readPgSettings, round, shippedSidecar, sidecarEnv, SIDECAR_BIN, table, writeResult } from './lib.ts';
import { startLegacy } from './canary.ts';
import { cpuIdlePercent, get, sleep, startProcess, stopProcess, waitFor } from './proxy.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = SIDECAR_BIN;
const SPEC = path.join(ROOT, 'examples/legacy-orders/strangler.yaml');
const TOKEN = 'bench-footprint-token';

/** Median wall time (s) of `runs` runs of the command, after one warm-up run. */
function medianWall(cmd: string, args: string[], runs: number): number {
  const times: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const t0 = performance.now();
    const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8' });
    const s = (performance.now() - t0) / 1000;
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    if (i > 0) times.push(s);
  }
  return percentile(times, 50);
}

/** Peak RSS (MB) of one run, from GNU time when the machine has it. */
function peakRssMb(cmd: string, args: string[]): number | null {
  if (!existsSync('/usr/bin/time')) return null;
  const r = spawnSync('/usr/bin/time', ['-f', '%M', cmd, ...args], { cwd: ROOT, encoding: 'utf8' });
  const kb = Number(r.stderr.trim().split('\n').pop());
  return r.status === 0 && Number.isFinite(kb) ? kb / 1024 : null;
}

/** VmRSS and VmHWM of a process, MB. */
function memOf(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

/** A metric's value from a Prometheus text page (first sample of the family). */
function metric(text: string, name: string): number | null {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : null;
}

interface Sidecar {
  child: ChildProcess;
  url: string;
  adminUrl: string;
  readyS: number;
}

async function startSidecar(dir: string, env: NodeJS.ProcessEnv, n: number): Promise<Sidecar> {
  const [port, adminPort] = [await freePort(), await freePort()];
  const logFile = path.join(dir, `sidecar-${n}.log`);
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const t0 = performance.now();
  const child = startProcess(BIN, ['start', '--config', SPEC], {
    env: { ...env, STRANGLER_PUBLIC_PORT: String(port), STRANGLER_ADMIN_PORT: String(adminPort) },
    logFile,
    cwd: dir,
  });
  let readyS = NaN;
  await waitFor(
    'the sidecar',
    logFile,
    child,
    async () => {
      if ((await get(`${adminUrl}/readyz`)).status !== 200) return false;
      readyS = (performance.now() - t0) / 1000;
      return true;
    },
    60_000,
  );
  return { child, url: `http://127.0.0.1:${port}`, adminUrl, readyS };
}

/** BENCH_LOAD_SECONDS of orders created, read back and listed through the sidecar, 8 loops. */
async function load(publicUrl: string, seconds: number): Promise<{ requests: number; errors: number }> {
  const deadline = Date.now() + seconds * 1000;
  let requests = 0;
  let errors = 0;
  const call = async (method: string, p: string, body?: unknown): Promise<Record<string, unknown> | null> => {
    requests++;
    const res = await fetch(publicUrl + p, {
      method,
      headers: { 'content-type': 'application/json', 'x-user-id': `user-${requests % 100}` },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (res.status >= 400) {
      errors++;
      return null;
    }
    return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  };
  await Promise.all(
    Array.from({ length: 8 }, async (_, loop) => {
      for (let i = 0; Date.now() < deadline; i++) {
        const customerId = `cust-${(loop * 7 + i) % 50}`;
        const order = await call('POST', '/orders', {
          customerId,
          items: [{ sku: `SKU-${i % 97}`, quantity: 1 + (i % 3), price: `${1 + (i % 50)}.99` }],
        });
        const id = order?.['id'];
        if (typeof id !== 'string') continue;
        if (i % 4 === 0) await call('POST', `/orders/${id}/items`, { sku: `SKU-X-${i}`, quantity: 1, price: '2.50' });
        await call('GET', `/orders/${id}`);
        await call('GET', `/orders?customerId=${customerId}&limit=20`);
      }
    }),
  );
  return { requests, errors };
}

export async function run(): Promise<Record<string, number | null>> {
  const cliRuns = Number(process.env['BENCH_CLI_RUNS'] ?? 15);
  const starts = Number(process.env['BENCH_STARTS'] ?? 6);
  const idleSeconds = Number(process.env['BENCH_IDLE_SECONDS'] ?? 10);
  const loadSeconds = Number(process.env['BENCH_LOAD_SECONDS'] ?? 30);
  const pgBin = process.env['STRANGLER_PG_BIN_DIR'] ?? '/usr/lib/postgresql/15/bin';
  if (!existsSync(path.join(pgBin, 'postgres')))
    throw new Error(`bench/footprint needs PostgreSQL 15 in ${pgBin} (apt-get install -y postgresql-15); nothing written`);

  const notes: string[] = [];
  const figures: Record<string, number | null> = {};
  const { runsFrom } = await shippedSidecar('bench/footprint');
  const settings: Record<string, unknown> = {
    runs_from: runsFrom,
    cli_runs: cliRuns,
    starts,
    idle_seconds: idleSeconds,
    load_seconds: loadSeconds,
    sidecar: `bin/strangler.mjs (run as a file: its #! line's V8 flags) start --config examples/legacy-orders/strangler.yaml (shipped spec), event store and read model on PostgreSQL 15, legacy database set, LOG_LEVEL=warn, NODE_ENV=production`,
    load: '8 loops: POST /orders, 1 in 4 POST /orders/ID/items, GET /orders/ID, GET /orders?customerId=…&limit=20 (stage dual_write: legacy answers, every command appended and projected)',
  };
  const idle = await cpuIdlePercent(1000);
  settings.cpu_idle_before_pct = idle;
  if (idle < 85) notes.push(`Only ${idle}% of the CPUs were idle before the run (other processes on the machine): times are noisy.`);

  figures.node_startup_s = round(medianWall(process.execPath, ['-e', '0'], cliRuns), 3);
  // The bin as operators and the image run it: the file itself, with the V8 flags of its #! line.
  figures.cli_help_s = round(medianWall(BIN, ['--help'], cliRuns), 3);
  const helpRss = peakRssMb(BIN, ['--help']);
  figures.cli_help_rss_mb = helpRss === null ? null : round(helpRss, 1);
  console.log(
    table([
      ['node -e 0 (s)', figures.node_startup_s ?? null],
      ['strangler --help (s)', figures.cli_help_s ?? null],
      ['strangler --help peak RSS (MB)', figures.cli_help_rss_mb ?? null],
    ]),
  );

  const dir = mkdtempSync(path.join(process.env['STRANGLER_TEST_TMPDIR'] ?? os.tmpdir(), 'bench-footprint-'));
  let pgServer: PgServer | undefined;
  let legacy: Awaited<ReturnType<typeof startLegacy>> | undefined;
  let sidecar: Sidecar | undefined;
  try {
    pgServer = await startPostgres({ settings: { max_connections: '100' } });
    const client = new pg.Client({ connectionString: pgServer.url });
    await client.connect();
    settings.postgres = await readPgSettings((sql) => client.query(sql));
    await client.query('CREATE DATABASE bench_events');
    await client.query('CREATE DATABASE bench_legacy');
    await client.end();
    const dbUrl = (name: string) => Object.assign(new URL(pgServer!.url), { pathname: `/${name}` }).toString();
    legacy = await startLegacy(dir, dbUrl('bench_legacy'));

    const env = sidecarEnv({
      STRANGLER_LEGACY_UPSTREAM: legacy.url,
      STRANGLER_EVENTSTORE_URL: dbUrl('bench_events'),
      STRANGLER_LEGACY_DB_URL: dbUrl('bench_legacy'),
      STRANGLER_ADMIN_TOKEN: TOKEN,
      LOG_LEVEL: 'warn',
      NODE_ENV: 'production',
      ...(process.env['STRANGLER_FROM_SOURCE'] ? { STRANGLER_FROM_SOURCE: process.env['STRANGLER_FROM_SOURCE'] } : {}),
    });

    const readies: number[] = [];
    for (let n = 0; n < starts; n++) {
      sidecar = await startSidecar(dir, env, n);
      if (n === 0) figures.ready_first_s = round(sidecar.readyS, 3);
      else readies.push(sidecar.readyS);
      console.log(`  start ${n + 1}: /readyz 200 after ${sidecar.readyS.toFixed(3)} s${n === 0 ? ' (migrations included)' : ''}`);
      if (n < starts - 1) {
        await stopProcess(sidecar.child);
        sidecar = undefined;
      }
    }
    figures.ready_s = readies.length ? round(percentile(readies, 50), 3) : figures.ready_first_s!;

    const sc = sidecar!;
    const pid = sc.child.pid!;
    await sleep(idleSeconds * 1000);
    const idleMem = memOf(pid);
    const idleMetrics = (await get(`${sc.adminUrl}/metrics`)).body;
    figures.idle_rss_mb = round(idleMem.rss, 1);
    figures.idle_heap_used_mb = nullable(metric(idleMetrics, 'strangler_nodejs_heap_size_used_bytes'), 2 ** 20);

    const loaded = await load(sc.url, loadSeconds);
    const loadedMem = memOf(pid);
    const loadedMetrics = (await get(`${sc.adminUrl}/metrics`)).body;
    figures.loaded_rss_mb = round(loadedMem.rss, 1);
    figures.peak_rss_mb = round(loadedMem.hwm, 1);
    figures.loaded_heap_used_mb = nullable(metric(loadedMetrics, 'strangler_nodejs_heap_size_used_bytes'), 2 ** 20);
    figures.loaded_external_mb = nullable(metric(loadedMetrics, 'strangler_nodejs_external_memory_bytes'), 2 ** 20);
    figures.load_requests = loaded.requests;
    figures.load_errors = loaded.errors;
    if (loaded.errors > loaded.requests * 0.001) notes.push(`${loaded.errors} of ${loaded.requests} requests failed under load.`);
    console.log(
      table([
        ...[
          'ready_first_s',
          'ready_s',
          'idle_rss_mb',
          'idle_heap_used_mb',
          'loaded_rss_mb',
          'peak_rss_mb',
          'loaded_heap_used_mb',
          'loaded_external_mb',
        ].map((k): [string, number | null] => [k, figures[k] ?? null]),
        ['requests under load', loaded.requests],
      ]),
    );
  } finally {
    await stopProcess(sidecar?.child);
    await stopProcess(legacy?.child);
    await pgServer?.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
  const file = writeResult({ name: 'footprint', settings, figures, ...(notes.length ? { notes } : {}) });
  console.log(`  written ${path.relative(ROOT, file)}`);
  return figures;
}

const nullable = (v: number | null, unit: number) => (v === null ? null : round(v / unit, 1));
