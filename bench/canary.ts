/**
 * bench/canary: reads served by the sidecar from the read model against the legacy round trip,
 * on the sample orders service (examples/legacy-orders) with PostgreSQL legacy, and the sidecar
 * in front of it with its shipped spec and the PostgreSQL event store (fsync on).
 *   - routing_ns_per_op: the per-request routing decision (sticky key from the header, bucket,
 *     read model or legacy) in a tight loop over 10,000 varied keys, in this process. Target ≤ 1,000.
 *   - readmodel_p50_ms / legacy_p50_ms: GET /orders/ID at stage `complete` (100 %) against stage
 *     `dual_write` (0 %), the same load (8 connections, a random 5–25 ms pause before each
 *     request with a fixed seed, the same IDs and sticky keys in the same order), alternating
 *     read model / legacy (ABAB) for BENCH_ROUNDS rounds; medians over the rounds.
 *     readmodel_vs_legacy_p50 = their ratio (target ≤ 0.8).
 *   - readmodel_rps / legacy_rps: the same legs saturated (32 connections, no pause), ABAB.
 *   - shadow_added_p50_ms: p50 at stage `shadow` minus p50 at `dual_write`, the paced load, ABAB
 *     (target ≤ 0.2); the comparisons the shadow made in those legs (by result) are printed.
 * Every leg checks who answered through the sidecar's strangler_reads_total (a read-model leg
 * whose reads were not served by the read model stops the bench) and that the stage held over
 * the leg (the guard may roll it back). A stage the sidecar refuses (no read handler for every
 * read route, as before the read path lands) leaves its figures null with the reason in a note.
 *
 * BENCH_SECONDS (default 4) sets each leg; BENCH_ROUNDS (default 3) the ABAB rounds;
 * BENCH_ORDERS (default 2000) the orders created through the sidecar before measuring.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { routeRead, stickyKeyOf } from '../src/canary/readRouting.ts';
import type { CanaryState } from '../src/canary/stages.ts';
import { freePort, startPostgres, type PgServer } from '../test/harness/servers.ts';
import { grownBy, WRK_READS_SCRIPT, wrkReads, type ReadLoadResult, type ReadLoadSpec } from './canaryLoad.ts';
import { percentile, readPgSettings, requireSettings, round, shippedSidecar, sidecarEnv, SIDECAR_BIN, table, writeResult } from './lib.ts';
import { cpuIdlePercent, findExecutable, get, sleep, startProcess, stopProcess, waitFor } from './proxy.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SPEC = path.join(ROOT, 'examples/legacy-orders/strangler.yaml');
const ENTITY = 'orders';
const KEY_HEADER = 'x-user-id'; // canary.stickyKey's default, which the sample's spec keeps
const USERS = 1000;
const PACED = { connections: 8, delayRangeMs: [5, 25] as [number, number] };
const SATURATED_CONNECTIONS = 32;
const TOKEN = `bench-${Date.now().toString(36)}`;

// ---------------------------------------------------------------------------------------
// The routing decision per request.
//
// What the public port runs per read of a route with a handler: the sticky key taken from
// the request as configured (stickyKeyOf) and the stage's answer for its bucket (routeRead).
const STICKY = { source: 'header', name: KEY_HEADER } as const;
const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze({});
function decide(req: IncomingMessage, state: Pick<CanaryState, 'stage' | 'percent'>): boolean {
  return routeRead(state, ENTITY, stickyKeyOf(STICKY, req, NO_PARAMS)).source === 'read-model';
}
const ROUTING_IMPL = 'readRouting.stickyKeyOf (header) + routeRead, as src/canary/readPath.ts calls them';

/** ns per decision: median of 7 runs of 2,000,000 decisions over 10,000 varied keys at canary 10 %. */
function measureRouting(): { nsPerOp: number; share: number } {
  const keys = Array.from({ length: 10_000 }, (_, i): IncomingMessage => {
    const headers: IncomingHttpHeaders = {
      host: 'orders.internal',
      accept: 'application/json',
      [KEY_HEADER]: `user-${(i * 2_654_435_761) % 4_294_967_296}-${i}`,
    };
    return { headers } as IncomingMessage; // what decide reads of a request: its headers
  });
  const state = { stage: 'canary' as const, percent: 10 };
  const ops = 2_000_000;
  const runs: number[] = [];
  let toModel = 0;
  for (let r = 0; r < 8; r++) {
    let hits = 0;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < ops; i++) if (decide(keys[i % keys.length]!, state)) hits++;
    const ns = Number(process.hrtime.bigint() - t0) / ops;
    if (r > 0) runs.push(ns); // the first run warms the JIT
    toModel = hits;
  }
  return { nsPerOp: percentile(runs, 50), share: toModel / ops };
}

// ---------------------------------------------------------------------------------------

/** The sample legacy service on `dbUrl`, a child process logging to DIR/legacy.log (bench/footprint uses it too). */
export async function startLegacy(dir: string, dbUrl: string): Promise<{ child: ChildProcess; url: string }> {
  const logFile = path.join(dir, 'legacy.log');
  const env = { ...process.env, LEGACY_DB_URL: dbUrl, PORT: '0', HOST: '127.0.0.1', NODE_ENV: 'production' };
  const child = startProcess(process.execPath, [path.join(ROOT, 'bin/run-ts.mjs'), path.join(ROOT, 'examples/legacy-orders/main.ts')], {
    env,
    logFile,
    cwd: dir,
  });
  let url = '';
  await waitFor('the legacy orders service', logFile, child, async () => {
    const m = /listening on (http:\/\/[\d.]+:\d+)/.exec(existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
    if (m) url = m[1]!;
    return url !== '';
  });
  return { child, url };
}

async function startSidecar(dir: string, legacyUrl: string, storeUrl: string, legacyDbUrl: string) {
  const [port, adminPort] = [await freePort(), await freePort()];
  const env = sidecarEnv({
    STRANGLER_LEGACY_UPSTREAM: legacyUrl,
    STRANGLER_EVENTSTORE_URL: storeUrl,
    STRANGLER_LEGACY_DB_URL: legacyDbUrl,
    STRANGLER_PUBLIC_PORT: String(port),
    STRANGLER_ADMIN_PORT: String(adminPort),
    STRANGLER_ADMIN_TOKEN: TOKEN,
    LOG_LEVEL: 'warn',
    NODE_ENV: 'production',
  });
  const logFile = path.join(dir, 'sidecar.log');
  // cwd: the temp dir, so the spec's default spool (./data/spool) lands there. The bin runs as
  // a file, with its #! line's V8 flags, as `strangler` and the image run it.
  const child = startProcess(SIDECAR_BIN, ['start', '--config', SPEC], {
    env,
    logFile,
    cwd: dir,
  });
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  await waitFor('the sidecar', logFile, child, async () => (await get(`${adminUrl}/readyz`)).status === 200, 60_000);
  return { child, url: `http://127.0.0.1:${port}`, adminUrl, logFile };
}

async function admin(
  adminUrl: string,
  method: string,
  p: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(adminUrl + p, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** N orders through the sidecar (each an OrderCreated event), 16 at a time; their ids. */
async function createOrders(publicUrl: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let i = next++; i < n; i = next++) {
        const items = Array.from({ length: 1 + (i % 3) }, (_, k) => ({
          sku: `SKU-${i % 97}-${k}`,
          quantity: 1 + (k % 3),
          price: `${1 + (i % 50)}.${String(i % 100).padStart(2, '0')}`,
        }));
        const res = await fetch(`${publicUrl}/orders`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', [KEY_HEADER]: `user-${i % USERS}` },
          body: JSON.stringify({ customerId: `cust-${i % 50}`, items }),
        });
        const body = (await res.json()) as { id?: string };
        if (res.status !== 201 || !body.id)
          throw new Error(`POST /orders through the sidecar answered ${res.status}: ${JSON.stringify(body)}`);
        ids[i] = body.id;
      }
    }),
  );
  return ids;
}

/** Waits until the orders projection has applied every event (lag 0 events, running). */
async function waitCaughtUp(adminUrl: string, minApplied: number): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const { json } = await admin(adminUrl, 'GET', '/admin/projections');
    const p = (json['projections'] as { name: string; state: string; lagEvents: number | null; appliedEvents: number }[] | undefined)?.find(
      (x) => x.name === ENTITY,
    );
    if (p && p.state === 'running' && p.lagEvents === 0 && p.appliedEvents >= minApplied) return Date.now() - t0;
    if (Date.now() - t0 > 120_000) throw new Error(`the ${ENTITY} projection did not catch up within 120 s: ${JSON.stringify(p ?? json)}`);
    await sleep(200);
  }
}

type Stage = 'dual_write' | 'shadow' | 'complete';

export async function run(opts: { seconds?: number; rounds?: number } = {}): Promise<Record<string, number | null>> {
  const seconds = opts.seconds ?? Number(process.env['BENCH_SECONDS'] ?? 4);
  const rounds = opts.rounds ?? Number(process.env['BENCH_ROUNDS'] ?? 3);
  const orders = Number(process.env['BENCH_ORDERS'] ?? 2000);
  const wrkBin = findExecutable('wrk');
  if (!wrkBin) throw new Error('bench/canary needs wrk (apt-get install -y wrk); nothing written');
  const pgBin = process.env['STRANGLER_PG_BIN_DIR'] ?? '/usr/lib/postgresql/15/bin';
  if (!existsSync(path.join(pgBin, 'postgres')))
    throw new Error(`bench/canary needs PostgreSQL 15 in ${pgBin} (apt-get install -y postgresql-15); nothing written`);
  const notes: string[] = [];
  const figures: Record<string, number | null> = {};
  const dir = mkdtempSync(path.join(process.env['STRANGLER_TEST_TMPDIR'] ?? os.tmpdir(), 'bench-canary-'));
  const scriptFile = path.join(dir, 'reads.lua');
  const idsFile = path.join(dir, 'ids.txt');
  writeFileSync(scriptFile, WRK_READS_SCRIPT);

  // In this process, before any server runs: the decision alone.
  const routing = measureRouting();
  figures.routing_ns_per_op = round(routing.nsPerOp, 1);
  figures.routing_share_at_10_percent = round(routing.share * 100, 2);

  const settings: Record<string, unknown> = {
    seconds,
    rounds,
    orders,
    routing: `${ROUTING_IMPL}; 10,000 keys in the ${KEY_HEADER} header of a headers object, canary 10 %, median of 7 runs of 2,000,000 decisions (after one warm-up run)`,
    loadGenerator: `wrk -t1 (${wrkBin}), GET /orders/ID over the ${orders} ids in order, ${KEY_HEADER}: user-(n mod ${USERS})`,
    latency: `-c${PACED.connections}, a random ${PACED.delayRangeMs[0]}-${PACED.delayRangeMs[1]} ms pause before each request (Lua seed fixed: the same pauses in every leg), ${rounds} rounds alternating the two legs; figures are medians over the rounds`,
    throughput: `-c${SATURATED_CONNECTIONS}, no pause, ${rounds} rounds alternating the two legs`,
    sidecar: `bin/strangler.mjs (run as a file: its #! line's V8 flags) start --config examples/legacy-orders/strangler.yaml (shipped spec), event store and read model on PostgreSQL 15 (fsync on), legacy database set`,
    legacy: 'examples/legacy-orders/main.ts on PostgreSQL 15 (same server, database bench_legacy), its own process',
  };
  settings.runs_from = (await shippedSidecar('bench/canary')).runsFrom;
  const idle = await cpuIdlePercent(1000);
  settings.cpu_idle_before_pct = idle;
  if (idle < 85) notes.push(`Only ${idle}% of the CPUs were idle before the run (other processes on the machine): figures are noisy.`);

  let pgServer: PgServer | undefined;
  let legacy: Awaited<ReturnType<typeof startLegacy>> | undefined;
  let sidecar: Awaited<ReturnType<typeof startSidecar>> | undefined;
  try {
    pgServer = await startPostgres({ fsync: true, settings: { max_connections: '100', shared_buffers: '256MB' } });
    const client = new pg.Client({ connectionString: pgServer.url });
    await client.connect();
    const pgSettings = await readPgSettings((sql) => client.query(sql));
    requireSettings('bench/canary', { fsync: 'on', synchronous_commit: 'on', shared_buffers: '256MB' }, pgSettings);
    settings.postgres = pgSettings;
    await client.query('CREATE DATABASE bench_events');
    await client.query('CREATE DATABASE bench_legacy');
    await client.end();
    const dbUrl = (name: string) => Object.assign(new URL(pgServer!.url), { pathname: `/${name}` }).toString();

    legacy = await startLegacy(dir, dbUrl('bench_legacy'));
    const sc = (sidecar = await startSidecar(dir, legacy.url, dbUrl('bench_events'), dbUrl('bench_legacy')));
    const t0 = Date.now();
    const ids = await createOrders(sc.url, orders);
    writeFileSync(idsFile, ids.join('\n') + '\n');
    const catchUpMs = await waitCaughtUp(sc.adminUrl, orders);
    console.log(
      `  ${orders} orders created through the sidecar in ${Date.now() - t0} ms; projection caught up ${catchUpMs} ms after the last`,
    );

    const metrics = async () => (await get(`${sc.adminUrl}/metrics`)).body;
    const stageNow = async () => (await admin(sc.adminUrl, 'GET', `/admin/canary/${ENTITY}`)).json as unknown as CanaryState;
    /** Moves the entity to `stage`; the sidecar's refusal (e.g. no read handler yet) as a string. */
    const setStage = async (stage: Stage): Promise<string | null> => {
      const now = await stageNow();
      if (now.stage === stage && !now.paused) return null;
      if (now.paused) return `${ENTITY} is paused by ${now.updatedBy}`;
      const r = await admin(sc.adminUrl, 'PUT', `/admin/canary/${ENTITY}`, { stage, reason: 'bench/canary leg' });
      return r.status === 200 ? null : `${String(r.json['detail'] ?? `HTTP ${r.status}`)}`;
    };
    const spec = (extra: Partial<ReadLoadSpec>): ReadLoadSpec => ({
      url: sc.url,
      idsFile,
      connections: PACED.connections,
      seconds,
      users: USERS,
      keyHeader: KEY_HEADER,
      ...extra,
    });
    const seen: string[] = [];
    /** One leg at `stage`: the load, then who answered and whether the stage held. */
    const leg = async (stage: Stage, label: string, load: ReadLoadSpec): Promise<ReadLoadResult & { shadow: Record<string, number> }> => {
      const refused = await setStage(stage);
      if (refused) throw new Error(`stage ${stage} refused: ${refused}`);
      const before = await metrics();
      const r = wrkReads(wrkBin, scriptFile, load);
      const after = await metrics();
      const state = await stageNow();
      if (state.stage !== stage)
        throw new Error(`${label}: the stage moved to ${state.stage} during the leg (by ${state.updatedBy}); the leg measured a mix`);
      if (r.requests === 0 || r.errors > r.requests * 0.001) throw new Error(`${label}: ${r.errors} errors in ${r.requests} requests`);
      const bySource = grownBy(before, after, 'strangler_reads_total', 'source', { entity: ENTITY });
      const served = bySource['read-model'] ?? 0;
      if (stage === 'complete' && served < r.requests * 0.99)
        throw new Error(
          `${label}: the read model answered ${served} of ${r.requests} reads (${JSON.stringify(grownBy(before, after, 'strangler_reads_total', 'outcome', { entity: ENTITY }))}): not a read-model figure`,
        );
      if (stage !== 'complete' && served > 0) throw new Error(`${label}: the read model answered ${served} reads at stage ${stage}`);
      const shadow = grownBy(before, after, 'strangler_shadow_comparisons_total', 'result', { entity: ENTITY });
      seen.push(`${label}: ${stage} v${state.version}, ${Math.round(r.rps)} req/s, answered ${JSON.stringify(bySource)}`);
      console.log(
        `  ${label.padEnd(22)} ${Math.round(r.rps)} req/s  p50 ${r.p50Ms.toFixed(3)} ms  p99 ${r.p99Ms.toFixed(3)} ms  answered by ${JSON.stringify(bySource)}${stage === 'shadow' ? `  shadow ${JSON.stringify(shadow)}` : ''}`,
      );
      return { ...r, shadow };
    };

    // Warm-up on the legacy side (the pools, JIT, legacy's caches), then find out what the sidecar accepts.
    await leg('dual_write', 'warm-up', spec({ seconds: 2 }));
    const readModelRefused = await setStage('complete');
    const shadowRefused = readModelRefused ? await setStage('shadow') : null;
    await setStage('dual_write');
    if (readModelRefused) notes.push(`Stage complete refused by the sidecar (${readModelRefused}): readmodel_* figures are null.`);
    if (shadowRefused) notes.push(`Stage shadow refused by the sidecar (${shadowRefused}): shadow_added_p50_ms is null.`);
    else if (!readModelRefused) await leg('complete', 'warm-up read model', spec({ seconds: 2 }));

    // ABAB: a read-model leg then a legacy leg per round; the same load in both.
    const paced = { rm: [] as ReadLoadResult[], legacy: [] as ReadLoadResult[] };
    const sat = { rm: [] as ReadLoadResult[], legacy: [] as ReadLoadResult[] };
    for (let r = 1; r <= rounds; r++) {
      if (!readModelRefused) paced.rm.push(await leg('complete', `paced ${r} read model`, spec({ delayRangeMs: PACED.delayRangeMs })));
      paced.legacy.push(await leg('dual_write', `paced ${r} legacy`, spec({ delayRangeMs: PACED.delayRangeMs })));
    }
    for (let r = 1; r <= rounds; r++) {
      if (!readModelRefused) sat.rm.push(await leg('complete', `saturated ${r} read model`, spec({ connections: SATURATED_CONNECTIONS })));
      sat.legacy.push(await leg('dual_write', `saturated ${r} legacy`, spec({ connections: SATURATED_CONNECTIONS })));
    }
    const shadowLegs = { on: [] as (ReadLoadResult & { shadow: Record<string, number> })[], off: [] as ReadLoadResult[] };
    if (!shadowRefused)
      for (let r = 1; r <= rounds; r++) {
        shadowLegs.on.push(await leg('shadow', `paced ${r} shadow`, spec({ delayRangeMs: PACED.delayRangeMs })));
        shadowLegs.off.push(await leg('dual_write', `paced ${r} dual_write`, spec({ delayRangeMs: PACED.delayRangeMs })));
      }
    await setStage('dual_write');

    const med = (xs: ReadLoadResult[], k: 'p50Ms' | 'p99Ms' | 'rps') =>
      xs.length
        ? percentile(
            xs.map((x) => x[k]),
            50,
          )
        : null;
    const r3 = (x: number | null, d = 3) => (x === null ? null : round(x, d));
    const ratio = (a: number | null, b: number | null) => (a === null || b === null ? null : round(a / b, 3));
    figures.legacy_p50_ms = r3(med(paced.legacy, 'p50Ms'));
    figures.legacy_p99_ms = r3(med(paced.legacy, 'p99Ms'));
    figures.readmodel_p50_ms = r3(med(paced.rm, 'p50Ms'));
    figures.readmodel_p99_ms = r3(med(paced.rm, 'p99Ms'));
    figures.readmodel_vs_legacy_p50 = ratio(figures.readmodel_p50_ms, figures.legacy_p50_ms);
    figures.paced_rps_legacy = r3(med(paced.legacy, 'rps'), 0);
    figures.paced_rps_readmodel = r3(med(paced.rm, 'rps'), 0);
    figures.legacy_rps = r3(med(sat.legacy, 'rps'), 0);
    figures.readmodel_rps = r3(med(sat.rm, 'rps'), 0);
    figures.readmodel_vs_legacy_rps = ratio(figures.readmodel_rps, figures.legacy_rps);
    const shadowOn = med(shadowLegs.on, 'p50Ms');
    const shadowOff = med(shadowLegs.off, 'p50Ms');
    figures.shadow_p50_ms = r3(shadowOn);
    figures.shadow_off_p50_ms = r3(shadowOff);
    figures.shadow_added_p50_ms = shadowOn === null || shadowOff === null ? null : round(shadowOn - shadowOff, 3);
    const compared = (res: string) => shadowLegs.on.reduce((n, l) => n + (l.shadow[res] ?? 0), 0);
    for (const res of ['match', 'mismatch', 'error', 'shed', 'noisy']) figures[`shadow_${res}`] = shadowRefused ? null : compared(res);
    if (!shadowRefused && compared('shed') > 0)
      notes.push(`The shadow shed ${compared('shed')} comparisons (over its concurrency cap): shadow_added_p50_ms leaves their cost out.`);
    const pairs = (a: ReadLoadResult[], b: ReadLoadResult[], k: 'p50Ms' | 'rps') => a.map((x, i) => round(x[k] / b[i]![k], 3));
    settings.readmodel_vs_legacy_p50_rounds = pairs(paced.rm, paced.legacy, 'p50Ms');
    settings.readmodel_vs_legacy_rps_rounds = pairs(sat.rm, sat.legacy, 'rps');
    settings.legs = seen;
    settings.projection_catch_up_ms = catchUpMs;
    if (figures.paced_rps_readmodel !== null && Math.abs(figures.paced_rps_readmodel / figures.paced_rps_legacy! - 1) > 0.1)
      notes.push('The paced legs ran at rates more than 10 % apart: one side was near saturation, and its p50 includes queueing.');

    writeResult({ name: 'canary', settings, figures, ...(notes.length ? { notes } : {}) });
    const v = (x: number | null | undefined, unit = '') => (x === null || x === undefined ? 'n/a' : `${x}${unit}`);
    console.log(`bench/canary (${orders} orders, wrk -t1, ${seconds}s legs x ${rounds} ABAB rounds)`);
    console.log(
      table([
        [
          'routing decision',
          `${v(figures.routing_ns_per_op)} ns/op (target <= 1,000); ${v(figures.routing_share_at_10_percent)} % of keys to the read model at 10 %`,
        ],
        [
          `GET /orders/ID p50, -c${PACED.connections} paced`,
          `read model ${v(figures.readmodel_p50_ms)} ms vs legacy ${v(figures.legacy_p50_ms)} ms = ${v(figures.readmodel_vs_legacy_p50)}x (target <= 0.8; rounds ${JSON.stringify(settings.readmodel_vs_legacy_p50_rounds)})`,
        ],
        [
          `saturated -c${SATURATED_CONNECTIONS}`,
          `read model ${v(figures.readmodel_rps)} req/s vs legacy ${v(figures.legacy_rps)} req/s = ${v(figures.readmodel_vs_legacy_rps)}x (rounds ${JSON.stringify(settings.readmodel_vs_legacy_rps_rounds)})`,
        ],
        [
          'shadow on minus off, p50',
          `${v(figures.shadow_added_p50_ms)} ms (target <= 0.2; shadow ${v(figures.shadow_p50_ms)} ms, dual_write ${v(figures.shadow_off_p50_ms)} ms); compared: match ${v(figures.shadow_match)}, mismatch ${v(figures.shadow_mismatch)}, noisy ${v(figures.shadow_noisy)}, error ${v(figures.shadow_error)}, shed ${v(figures.shadow_shed)}`,
        ],
      ]),
    );
    for (const n of notes) console.log(`  note: ${n}`);
    return figures;
  } finally {
    await stopProcess(sidecar?.child);
    await stopProcess(legacy?.child);
    await pgServer?.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}
