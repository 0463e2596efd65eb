/**
 * bench/reconcile: reconciliation of 1,000,000 orders rows, MariaDB 10.11 legacy table vs the
 * PostgreSQL 15 read model, both on real servers started here (2-core machine).
 *
 *   setup (timed apart, not part of any figure): the legacy `orders` table
 *     (examples/legacy-orders/schema/mysql.sql) and the read-model `orders` table
 *     (createOrdersProjection().ddl) are filled with the same rows, generated in SQL on each
 *     side (MariaDB seq_1_to_N, PostgreSQL generate_series): nothing crosses this process.
 *   run 1, identical (the headline): reconciler.run() over all six legacy columns with the
 *     schema's reconciliation defaults (prefilter auto): wall time, rows/s, the report's
 *     prefilter status, chunks, prefiltered chunks. Must report 0 differences.
 *   run 1b, identical, prefilter off: the same run with every row hashed in TypeScript.
 *   run 2, drift: 0.1 % of the keys changed directly in MariaDB, spread over the key space
 *     (60 % updated: status, total_amount or updated_at by 1 µs; 20 % deleted; 20 % inserted
 *     with new ids), then a run with the same settings as the headline (prefilter auto):
 *     every chunk differs, and is narrowed in the databases (src/reconcile/prefilter/narrow.ts);
 *     every planted key must come out confirmed, nothing else. drift_wall_s: target <= 10 s.
 *   run 3, collation: identical rows keyed by a CHAR(36) utf8mb4_general_ci UUID in MariaDB
 *     (bench/reconcileCiUuid.ts; seeded with the others, timed apart), the headline's settings:
 *     identical_1m_ci_uuid_wall_s, target <= 2x identical_1m_wall_s (ci_uuid_vs_headline).
 *   baseline (same run, after the runs so it does not count in peak RSS): a plain keyset read
 *     of the compared columns from each side (rows as arrays, 20,000 a page, nothing else),
 *     the TypeScript encode + sha256 of those rows, and each database's whole-table checksum
 *     (the prefilter's own SQL over the whole key range): the physical floors of both paths.
 *
 * Targets: <= 10 s wall for 1M identical rows, <= 256 MB peak RSS, every planted key found.
 */
import type { ConfigSpec } from '../src/config/schema.ts';
import { configSchema } from '../src/config/schema.ts';
import type { Executor, QueryOptions } from '../src/db/executor.ts';
import { createMysqlExecutor } from '../src/db/mysqlExecutor.ts';
import { openEventStore } from '../src/eventstore/index.ts';
import { createOrdersProjection, ORDERS_TABLES } from '../examples/legacy-orders/projections/orders/index.ts';
import { hashRow } from '../src/reconcile/encoding/rowEncoding.ts';
import { rangeQuery } from '../src/reconcile/engine/sideSql.ts';
import type { EntityPlan } from '../src/reconcile/engine/entityPlan.ts';
import { createSqlPrefilter } from '../src/reconcile/prefilter/sqlPrefilter.ts';
import { createReconciler } from '../src/reconcile/reconciler.ts';
import type { ReconcileReport } from '../src/reconcile/report/types.ts';
import { startMariadb, startPostgres, type ServerHandle } from '../test/harness/servers.ts';
import { readMariadbSettings, readPgSettings, requireSettings, round, table, writeResult } from './lib.ts';
import { readCiUuidSettings, runCiUuid, seedCiUuid } from './reconcileCiUuid.ts';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const DRIFT = Math.max(5, Math.round(ROWS / 1000)); // 0.1 %
const COLUMNS = ['id', 'customer_id', 'status', 'total_amount', 'created_at', 'updated_at'];
const BASELINE_PAGE = 20_000;
const TARGET_WALL_S = 10;
const TARGET_RSS_MB = 256;

type Settings = ConfigSpec['reconciliation'];
type Acc = Record<string, { ms: number; n: number; sql?: string }>;

const rssMb = () => process.resourceUsage().maxRSS / 1024;

export async function run(): Promise<Record<string, number | null>> {
  const rssStart = process.memoryUsage.rss() / 2 ** 20;
  let maria: ServerHandle | undefined;
  let pgServer: ServerHandle | undefined;
  let legacy: (Executor & { close(): Promise<void> }) | undefined;
  let storeDb: Executor | undefined;
  try {
    [maria, pgServer] = await Promise.all([
      startMariadb({ fsync: true, settings: { 'innodb-buffer-pool-size': '512M', 'innodb-log-file-size': '256M' } }),
      startPostgres({ fsync: true, settings: { shared_buffers: '256MB', max_wal_size: '4GB', max_connections: '100' } }),
    ]);
    const admin = createMysqlExecutor({ url: maria.url, max: 1 });
    await admin.exec('CREATE DATABASE legacy');
    await admin.close();
    legacy = createMysqlExecutor({ url: `${maria.url}legacy`, max: 4 });
    const store = await openEventStore({ url: pgServer.url, migrate: true, poolSize: 4 });
    storeDb = store.db;

    const versions = {
      mariadb: String((await legacy.query<{ v: string }>('SELECT VERSION() AS v')).rows[0]?.v),
      postgres: String((await storeDb.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]?.v),
    };
    const serverSettings = {
      mariadb: await readMariadbSettings((sql) => legacy!.query(sql)),
      postgres: await readPgSettings((sql) => storeDb!.query(sql)),
    };
    requireSettings(
      'bench/reconcile (MariaDB)',
      { innodb_flush_log_at_trx_commit: '1', innodb_buffer_pool_size: String(512 * 2 ** 20), isolation: 'REPEATABLE-READ' },
      serverSettings.mariadb,
    );
    requireSettings(
      'bench/reconcile (PostgreSQL)',
      { fsync: 'on', synchronous_commit: 'on', shared_buffers: '256MB', default_transaction_isolation: 'read committed' },
      serverSettings.postgres,
    );

    // ---- setup --------------------------------------------------------------------------
    const t0 = performance.now();
    await seed(legacy, storeDb, ROWS);
    const seedS = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    await seedCiUuid(legacy, storeDb, ROWS);
    const ciSeedS = (performance.now() - t1) / 1000;
    const ciSettings = await readCiUuidSettings(legacy, storeDb);
    const counts = [
      Number((await legacy.query<{ n: string }>('SELECT COUNT(*) AS n FROM orders')).rows[0]?.n),
      Number((await storeDb.query<{ n: string }>('SELECT count(*) AS n FROM orders')).rows[0]?.n),
    ];
    if (counts[0] !== ROWS || counts[1] !== ROWS)
      throw new Error(`seed: expected ${ROWS} rows on each side, got legacy ${counts[0]}, read model ${counts[1]}`);
    console.log(
      `bench/reconcile: seeded ${ROWS} identical orders rows on each side in ${round(seedS, 1)} s (setup, not measured); rss so far ${round(rssMb(), 0)} MB`,
    );
    console.log(`  ${versions.mariadb} / PostgreSQL ${versions.postgres}`);

    const base = configSchema.parse({
      legacy: { upstream: 'http://127.0.0.1:1' },
      entities: { orders: { stream: 'orders-{id}', reconcile: { columns: COLUMNS } } },
    });
    const entities = base.entities;
    const legacyAcc: Acc = {};
    const storeAcc: Acc = {};
    const tLegacy = timed(legacy, legacyAcc, (sql) =>
      /ROW_NUMBER\(\)/.test(sql)
        ? 'cuts'
        : / AS piece/.test(sql)
          ? 'pieces'
          : /SHA2\(/.test(sql)
            ? 'checksum'
            : / OFFSET /.test(sql)
              ? 'boundary'
              : /FROM `orders`/.test(sql)
                ? 'rows'
                : 'other',
    );
    const tStore = timed(storeDb, storeAcc, (sql) =>
      /ROW_NUMBER\(\)/.test(sql)
        ? 'cuts'
        : / AS piece/.test(sql)
          ? 'pieces'
          : /sha256\(/.test(sql)
            ? 'checksum'
            : /strangler_reconcile_(runs|diffs)/.test(sql)
              ? 'bookkeeping'
              : /FROM "orders"/.test(sql)
                ? 'rows'
                : 'other',
    );

    const runOnce = async (label: string, settings: Partial<Settings>) => {
      const reconciliation: Settings = { ...base.reconciliation, ...settings };
      const reconciler = createReconciler({
        config: { entities, reconciliation },
        legacy: tLegacy,
        store: tStore,
        projections: [],
        owner: `bench-${label}`,
      });
      for (const k of Object.keys(legacyAcc)) delete legacyAcc[k];
      for (const k of Object.keys(storeAcc)) delete storeAcc[k];
      const mem = { rss: 0, heap: 0 };
      const sample = () => {
        const m = process.memoryUsage();
        mem.rss = Math.max(mem.rss, m.rss / 2 ** 20);
        mem.heap = Math.max(mem.heap, m.heapUsed / 2 ** 20);
      };
      const sampler = setInterval(sample, 20);
      const cpu0 = process.cpuUsage();
      const s = performance.now();
      const [result] = await reconciler.run({ entity: 'orders', trigger: `bench-${label}` }).finally(() => clearInterval(sampler));
      const wallS = (performance.now() - s) / 1000;
      const cpu = process.cpuUsage(cpu0);
      sample();
      const maxRssSoFar = rssMb();
      if (!result) throw new Error(`${label}: no result`);
      if ('error' in result) throw new Error(`${label}: reconciliation failed: ${result.error.message}`);
      if (result.outcome.kind !== 'finished') throw new Error(`${label}: run skipped: ${result.outcome.reason}`);
      const report = result.outcome.report;
      const nodeCpuS = (cpu.user + cpu.system) / 1e6;
      console.log(
        `  ${label}: ${round(wallS, 2)} s wall, ${round(ROWS / wallS, 0)} rows/s; report ${report.durationMs} ms, chunks ${report.chunks}, prefiltered ${report.prefilteredChunks}, ` +
          `prefilter ${report.prefilter.enabled ? 'on' : 'off'} (${report.prefilter.reason}); node CPU ${round(nodeCpuS, 2)} s; ` +
          `legacy ${report.legacyRows}, read model ${report.readModelRows}, matched ${report.matched}, missing ${report.missingInProjection}, extra ${report.extraInProjection}, differing ${report.differing}, ` +
          `pending ${report.pending}, resolved ${report.resolvedOnRecheck}`,
      );
      console.log(
        `    time in queries (summed; the prefilter runs both sides at once): legacy ${fmtAcc(legacyAcc)}; store ${fmtAcc(storeAcc)}`,
      );
      console.log(
        `    memory: sampled peak RSS ${round(mem.rss, 0)} MB, sampled peak heapUsed ${round(mem.heap, 0)} MB; process maxRSS so far ${round(maxRssSoFar, 0)} MB`,
      );
      return { wallS, report, nodeCpuS, mem, maxRssSoFar, legacyAcc: { ...legacyAcc }, storeAcc: { ...storeAcc } };
    };

    // ---- run 1: identical -----------------------------------------------------------------
    const ident = await runOnce('identical (prefilter auto)', { graceMs: 0 });
    assertIdentical('identical (prefilter auto)', ident.report);
    const tsOnly = await runOnce('identical (prefilter off)', { graceMs: 0, prefilter: 'off' });
    assertIdentical('identical (prefilter off)', tsOnly.report);
    for (const [k, v] of Object.entries(ident.legacyAcc)) console.log(`    legacy ${k} statement as sent: ${v.sql}`);

    // ---- run 2: drift ---------------------------------------------------------------------
    const planted = await plantDrift(legacy, ROWS, DRIFT);
    const drift = await runOnce('drift (prefilter auto)', { graceMs: 200 });
    const { rows: diffRows } = await storeDb.query<{ key_text: string; class: string; status: string }>(
      'SELECT key_text, class, status FROM strangler_reconcile_diffs WHERE run_id = $1 ORDER BY key_text',
      [drift.report.runId],
    );
    const found = diffRows.filter((d) => d.status === 'confirmed' && planted.has(d.key_text));
    const wrongClass = found.filter((d) => planted.get(d.key_text) !== d.class);
    const outside = diffRows.filter((d) => !planted.has(d.key_text));
    const notConfirmed = diffRows.filter((d) => planted.has(d.key_text) && d.status !== 'confirmed');
    const missed = [...planted.keys()].filter((k) => !diffRows.some((d) => d.key_text === k));
    console.log(
      `  drift: planted ${planted.size}, found confirmed ${found.length} (class as planted: ${found.length - wrongClass.length}), ` +
        `planted but not confirmed ${notConfirmed.length}, not reported ${missed.length}, differences outside the planted set ${outside.length}; ` +
        `differing columns ${JSON.stringify(drift.report.differingColumns)} (planted ${Math.ceil(DRIFT / 5)} each of status, total_amount, updated_at)`,
    );
    for (const d of outside.slice(0, 20)) console.log(`    outside the planted set: ${JSON.stringify(d)}`);
    for (const d of wrongClass.slice(0, 20))
      console.log(`    class differs: ${d.key_text} planted ${planted.get(d.key_text)}, reported ${d.class}`);
    for (const d of notConfirmed.slice(0, 20)) console.log(`    not confirmed: ${JSON.stringify(d)}`);
    for (const k of missed.slice(0, 20)) console.log(`    missed: ${k} (${planted.get(k)})`);
    const peakRss = rssMb();

    // ---- baseline -------------------------------------------------------------------------
    const plan = await createReconciler({
      config: { entities, reconciliation: base.reconciliation },
      legacy,
      store: storeDb,
      projections: [],
    }).plan('orders');
    const bl = await streamAll(legacy, plan, 'legacy', true);
    const br = await streamAll(storeDb, plan, 'readModel', false);
    const pre = await createSqlPrefilter(plan, legacy, storeDb);
    let checksumLegacyS: number | null = null;
    let checksumReadModelS: number | null = null;
    if (pre.prefilter) {
      // Drift is in the legacy table now; the time is what matters here, not the sums.
      const lq = pre.prefilter.legacy(null, null);
      const rq = pre.prefilter.readModel(null, null);
      let s = performance.now();
      await legacy.query(lq.sql, lq.params, { arrays: true });
      checksumLegacyS = (performance.now() - s) / 1000;
      s = performance.now();
      await storeDb.query(rq.sql, rq.params, { arrays: true });
      checksumReadModelS = (performance.now() - s) / 1000;
    }
    console.log(
      `  baseline: plain keyset read legacy ${round(bl.readS, 2)} s (${bl.rows} rows), read model ${round(br.readS, 2)} s (${br.rows} rows); ` +
        `TypeScript encode + sha256 of the legacy rows ${round(bl.hashS!, 2)} s; whole-table checksum in the database: legacy ${checksumLegacyS === null ? 'n/a' : round(checksumLegacyS, 2)} s, ` +
        `read model ${checksumReadModelS === null ? 'n/a' : round(checksumReadModelS, 2)} s`,
    );

    // ---- run 3: a utf8mb4_general_ci UUID key -------------------------------------------------
    for (const acc of [legacyAcc, storeAcc]) for (const k of Object.keys(acc)) delete acc[k];
    const ci = await runCiUuid(tLegacy, tStore, ROWS);
    const ciAcc = { legacy: fmtAcc(legacyAcc), store: fmtAcc(storeAcc) };
    console.log(`    time in queries: legacy ${ciAcc.legacy}; store ${ciAcc.store}`);

    // ---- figures --------------------------------------------------------------------------
    const figures: Record<string, number | null> = {
      identical_1m_wall_s: round(ident.wallS, 2),
      identical_rows_per_s: round(ROWS / ident.wallS, 0),
      peak_rss_mb: round(peakRss, 0),
      drift_planted: planted.size,
      drift_found: found.length,
      identical_ts_only_wall_s: round(tsOnly.wallS, 2),
      identical_ts_only_rows_per_s: round(ROWS / tsOnly.wallS, 0),
      identical_chunks: ident.report.chunks,
      identical_prefiltered_chunks: ident.report.prefilteredChunks,
      identical_prefilter_enabled: ident.report.prefilter.enabled ? 1 : 0,
      identical_node_cpu_s: round(ident.nodeCpuS, 2),
      identical_ts_only_chunks: tsOnly.report.chunks,
      identical_ts_only_node_cpu_s: round(tsOnly.nodeCpuS, 2),
      drift_wall_s: round(drift.wallS, 2),
      drift_chunks: drift.report.chunks,
      drift_prefiltered_chunks: drift.report.prefilteredChunks,
      drift_narrowed_chunks: Number(/(\d+) differing chunk\(s\) narrowed/.exec(drift.report.prefilter.reason)?.[1] ?? 0),
      drift_rows_compared_in_ts: Number(/(\d+) rows of their differing pieces/.exec(drift.report.prefilter.reason)?.[1] ?? 0),
      drift_found_with_planted_class: found.length - wrongClass.length,
      drift_outside_planted: outside.length,
      rss_at_start_mb: round(rssStart, 0),
      identical_max_rss_mb: round(ident.maxRssSoFar, 0),
      identical_sampled_peak_rss_mb: round(ident.mem.rss, 0),
      identical_sampled_peak_heap_mb: round(ident.mem.heap, 0),
      identical_ts_only_max_rss_mb: round(tsOnly.maxRssSoFar, 0),
      identical_ts_only_sampled_peak_rss_mb: round(tsOnly.mem.rss, 0),
      identical_ts_only_sampled_peak_heap_mb: round(tsOnly.mem.heap, 0),
      drift_sampled_peak_rss_mb: round(drift.mem.rss, 0),
      drift_sampled_peak_heap_mb: round(drift.mem.heap, 0),
      baseline_read_legacy_s: round(bl.readS, 2),
      baseline_read_read_model_s: round(br.readS, 2),
      baseline_ts_encode_hash_s: round(bl.hashS!, 2),
      baseline_checksum_legacy_s: checksumLegacyS === null ? null : round(checksumLegacyS, 2),
      baseline_checksum_read_model_s: checksumReadModelS === null ? null : round(checksumReadModelS, 2),
      seed_s: round(seedS, 1),
      identical_1m_ci_uuid_wall_s: round(ci.wallS, 2),
      ci_uuid_vs_headline: round(ci.wallS / ident.wallS, 2),
      ci_uuid_chunks: ci.chunks,
      ci_uuid_prefilter_enabled: ci.prefilterEnabled ? 1 : 0,
      ci_uuid_seed_s: round(ciSeedS, 1),
    };
    console.log(
      table([
        ['rows per side', ROWS],
        [
          'identical, prefilter auto',
          `${figures.identical_1m_wall_s} s, ${figures.identical_rows_per_s} rows/s (target <= ${TARGET_WALL_S} s); ${ident.report.prefilteredChunks}/${ident.report.chunks} chunks prefiltered`,
        ],
        ['identical, prefilter off', `${figures.identical_ts_only_wall_s} s, ${figures.identical_ts_only_rows_per_s} rows/s`],
        [
          'peak RSS (bench process)',
          `${figures.peak_rss_mb} MB (target <= ${TARGET_RSS_MB}); through the headline run ${figures.identical_max_rss_mb} MB; at start ${figures.rss_at_start_mb} MB`,
        ],
        [
          'sampled peak RSS / heapUsed per run',
          `auto ${figures.identical_sampled_peak_rss_mb}/${figures.identical_sampled_peak_heap_mb} MB, off ${figures.identical_ts_only_sampled_peak_rss_mb}/${figures.identical_ts_only_sampled_peak_heap_mb} MB, drift ${figures.drift_sampled_peak_rss_mb}/${figures.drift_sampled_peak_heap_mb} MB`,
        ],
        ['drift planted / found', `${planted.size} / ${found.length} (target: all); outside the planted set ${outside.length}`],
        [
          'drift run, prefilter auto',
          `${figures.drift_wall_s} s (target <= ${TARGET_WALL_S} s); ${figures.drift_narrowed_chunks}/${figures.drift_chunks} chunks narrowed in the databases, ${figures.drift_rows_compared_in_ts} rows compared in TypeScript`,
        ],
        [
          'identical, CHAR(36) utf8mb4_general_ci UUID key',
          `${figures.identical_1m_ci_uuid_wall_s} s, ${figures.ci_uuid_vs_headline}x the headline (target <= 2x); ${ci.chunks} chunks`,
        ],
        ['floor: plain read legacy / read model', `${figures.baseline_read_legacy_s} s / ${figures.baseline_read_read_model_s} s`],
        ['floor: TS encode + sha256', `${figures.baseline_ts_encode_hash_s} s`],
        [
          'floor: in-db checksum legacy / read model',
          `${figures.baseline_checksum_legacy_s ?? 'n/a'} s / ${figures.baseline_checksum_read_model_s ?? 'n/a'} s`,
        ],
      ]),
    );

    const notes = [
      "Rows are generated in SQL on each side (MariaDB seq_1_to_N, PostgreSQL generate_series); the bench process never holds them, so peak RSS is the reconciler's (plus Node and the drivers).",
      `peak_rss_mb is process.resourceUsage().maxRSS after the three reconciliation runs (headline, prefilter off, drift), before the baseline reads (which hold up to ${BASELINE_PAGE} rows a page); identical_max_rss_mb is maxRSS right after the headline run (the first run). rss_at_start_mb: the process before any server or query (Node, tsx, the imported modules). *_sampled_peak_*: process.memoryUsage() every 20 ms during each run.`,
      'identical_1m_wall_s is the wall time of reconciler.run() (plan, prefilter self-test, the walk, the report); graceMs 0 (no differences, so no grace wait).',
      `Drift: ${DRIFT} keys spread evenly over the key space, by position k*${Math.floor(ROWS / DRIFT)}: 60 % updated (status, total_amount + 0.01 or updated_at + 1 µs), 20 % deleted, 20 % inserted with new ids (the neighbour id + "f"); graceMs 200.`,
      'drift_found counts planted keys with status confirmed in strangler_reconcile_diffs for the drift run.',
      "The baseline runs after the reconciliation runs; the read model and the legacy table are both in the servers' buffer caches throughout (the seed just wrote them).",
      `Time in queries: identical auto legacy ${fmtAcc(ident.legacyAcc)}, store ${fmtAcc(ident.storeAcc)}; prefilter off legacy ${fmtAcc(tsOnly.legacyAcc)}, store ${fmtAcc(tsOnly.storeAcc)}; drift legacy ${fmtAcc(drift.legacyAcc)}, store ${fmtAcc(drift.storeAcc)}.`,
      `Prefilter status (identical run): ${ident.report.prefilter.enabled ? 'enabled' : 'disabled'}: ${ident.report.prefilter.reason}.`,
      `Prefilter status (drift run): ${drift.report.prefilter.enabled ? 'enabled' : 'disabled'}: ${drift.report.prefilter.reason}.`,
      `identical_1m_ci_uuid_wall_s: the same rows keyed by a UUID in a CHAR(36) utf8mb4_general_ci column (MariaDB) and a varchar(36) (PostgreSQL), run after the baseline with the headline's settings; ci_uuid_vs_headline = it / identical_1m_wall_s (target <= 2). Time in queries: legacy ${ciAcc.legacy}, store ${ciAcc.store}. Prefilter: ${ci.prefilterEnabled ? 'enabled' : 'disabled'}: ${ci.reason}.`,
    ];
    const file = writeResult({
      name: 'reconcile',
      settings: {
        rows: ROWS,
        driftKeys: DRIFT,
        columns: COLUMNS,
        reconciliation: {
          chunkSize: base.reconciliation.chunkSize,
          targetChunkMs: base.reconciliation.targetChunkMs,
          maxRowsPerSecond: base.reconciliation.maxRowsPerSecond,
          statementTimeoutMs: base.reconciliation.statementTimeoutMs,
          pauseWhenThreadsRunning: base.reconciliation.pauseWhenThreadsRunning,
          graceMs: { identical: 0, drift: 200 },
          prefilter: { headline: 'auto', second: 'off' },
          chunkSizeBounds: 'adapted x2 / /2 per chunk toward targetChunkMs, 50..100000 (runReconciliation.ts)',
        },
        versions,
        servers: serverSettings,
        connections: { legacyPool: 4, storePool: 4 },
        baselinePage: BASELINE_PAGE,
        ciUuid: ciSettings,
      },
      figures,
      notes,
    });
    console.log(`wrote ${file}`);
    if (found.length !== planted.size || outside.length || wrongClass.length) {
      console.error(
        `bench/reconcile: the drift run found ${found.length} of ${planted.size} planted keys (${wrongClass.length} with another class) and ${outside.length} others`,
      );
      process.exitCode = 1;
    }
    return figures;
  } finally {
    await legacy?.close().catch(() => {});
    await storeDb?.close().catch(() => {});
    await Promise.all([maria?.destroy(), pgServer?.destroy()]);
  }
}

function assertIdentical(label: string, r: ReconcileReport): void {
  const bad = r.missingInProjection + r.extraInProjection + r.differing + r.pending + r.resolvedOnRecheck;
  if (
    bad ||
    r.legacyRows !== ROWS ||
    r.readModelRows !== ROWS ||
    r.matched !== ROWS ||
    r.tableSha256.legacy !== r.tableSha256.readModel ||
    r.skippedChunks.length
  ) {
    throw new Error(
      `${label}: identical tables did not reconcile cleanly: legacy ${r.legacyRows}, read model ${r.readModelRows}, matched ${r.matched}, missing ${r.missingInProjection}, ` +
        `extra ${r.extraInProjection}, differing ${r.differing} (${JSON.stringify(r.differingColumns)}), pending ${r.pending}, resolved ${r.resolvedOnRecheck}, ` +
        `skipped chunks ${r.skippedChunks.length}, digests ${r.tableSha256.legacy === r.tableSha256.readModel ? 'equal' : 'differ'}; samples ${JSON.stringify(r.samples.slice(0, 3))}`,
    );
  }
}

/** The same rows on both sides, generated by each database. */
async function seed(legacy: Executor, store: Executor, rows: number): Promise<void> {
  const { readFileSync } = await import('node:fs');
  const schema = readFileSync(new URL('../examples/legacy-orders/schema/mysql.sql', import.meta.url), 'utf8');
  await legacy.exec(schema);
  const module = createOrdersProjection();
  if (module.tables.join() !== ORDERS_TABLES.join()) throw new Error(`unexpected orders tables ${module.tables.join()}`);
  await store.exec(module.ddl(Object.fromEntries(module.tables.map((t) => [t, t]))));
  const mariaSql = `INSERT INTO orders (id, customer_id, status, total_amount, created_at, updated_at)
    SELECT CONCAT('ord_', LPAD(LOWER(HEX(seq)), 16, '0')), CONCAT('cust-', seq % 5000), ELT(seq % 3 + 1, 'CREATED', 'PAID', 'CANCELLED'),
           (seq % 100000) / 100,
           TIMESTAMP'2024-01-01 00:00:00' + INTERVAL seq SECOND + INTERVAL (seq % 1000000) MICROSECOND,
           TIMESTAMP'2024-01-01 00:00:00' + INTERVAL (seq + seq % 86400) SECOND + INTERVAL ((seq * 7) % 1000000) MICROSECOND
      FROM seq_1_to_${rows}`;
  const pgSql = `INSERT INTO orders (id, customer_id, status, total_amount, created_at, updated_at, last_version)
    SELECT 'ord_' || lpad(to_hex(n), 16, '0'), 'cust-' || (n % 5000), (ARRAY['CREATED', 'PAID', 'CANCELLED'])[n % 3 + 1],
           (n % 100000) / 100.0,
           timestamp '2024-01-01 00:00:00' + n * interval '1 second' + (n % 1000000) * interval '1 microsecond',
           timestamp '2024-01-01 00:00:00' + (n + n % 86400) * interval '1 second' + ((n * 7) % 1000000) * interval '1 microsecond',
           1
      FROM generate_series(1, ${rows}) AS n`;
  await Promise.all([
    (async () => {
      // One statement into an empty table: MariaDB's bulk insert path (no per-row undo).
      await legacy.exec(
        `SET SESSION unique_checks = 0, foreign_key_checks = 0; ${mariaSql}; SET SESSION unique_checks = 1, foreign_key_checks = 1`,
      );
      await legacy.query('ANALYZE TABLE orders');
    })(),
    (async () => {
      await store.exec(pgSql);
      await store.exec('VACUUM (ANALYZE) orders');
      await store.exec('CHECKPOINT');
    })(),
  ]);
  // Spot check: a few rows read alike from both sides (the identical run checks them all).
  const probe = [1, 2, 3, Math.floor(rows / 2), rows].map((n) => `ord_${n.toString(16).padStart(16, '0')}`);
  const cols = COLUMNS.join(', ');
  const l = (
    await legacy.query<unknown[]>(`SELECT ${cols} FROM orders WHERE id IN (${probe.map(() => '?').join(', ')}) ORDER BY id`, probe, {
      arrays: true,
    })
  ).rows;
  const r = (
    await store.query<unknown[]>(`SELECT ${cols} FROM orders WHERE id = ANY($1::text[]) ORDER BY id COLLATE "C"`, [probe], { arrays: true })
  ).rows;
  console.log(`  spot check, legacy:     ${JSON.stringify(l[3])}\n  spot check, read model: ${JSON.stringify(r[3])}`);
}

/**
 * Changes `count` keys in the legacy table, spread evenly over the key space; returns
 * planted key text → the class reconciliation must report for it.
 */
async function plantDrift(legacy: Executor, rows: number, count: number): Promise<Map<string, 'missing' | 'extra' | 'differing'>> {
  const step = Math.floor(rows / count);
  const idOf = (n: number) => `ord_${n.toString(16).padStart(16, '0')}`;
  const byKind: Record<'status' | 'total' | 'updated' | 'delete' | 'insert', string[]> = {
    status: [],
    total: [],
    updated: [],
    delete: [],
    insert: [],
  };
  const planted = new Map<string, 'missing' | 'extra' | 'differing'>();
  for (let k = 0; k < count; k++) {
    const n = k * step + Math.floor(step / 2) + 1;
    const kind = (['status', 'total', 'updated', 'delete', 'insert'] as const)[k % 5]!;
    byKind[kind].push(idOf(n));
    if (kind === 'insert')
      planted.set(`${idOf(n)}f`, 'missing'); // in legacy, not in the read model
    else if (kind === 'delete')
      planted.set(idOf(n), 'extra'); // in the read model only
    else planted.set(idOf(n), 'differing');
  }
  const inList = (ids: string[]) => ids.map((id) => `'${id}'`).join(', ');
  await legacy.exec(`
    UPDATE orders SET status = IF(status = 'PAID', 'CANCELLED', 'PAID') WHERE id IN (${inList(byKind.status)});
    UPDATE orders SET total_amount = total_amount + 0.01 WHERE id IN (${inList(byKind.total)});
    UPDATE orders SET updated_at = updated_at + INTERVAL 1 MICROSECOND WHERE id IN (${inList(byKind.updated)});
    DELETE FROM orders WHERE id IN (${inList(byKind.delete)});
    INSERT INTO orders (id, customer_id, status, total_amount, created_at, updated_at)
      SELECT CONCAT(id, 'f'), customer_id, status, total_amount, created_at, updated_at FROM orders WHERE id IN (${inList(byKind.insert)});`);
  const n = Number((await legacy.query<{ n: string }>(`SELECT COUNT(*) AS n FROM orders`)).rows[0]?.n);
  if (n !== rows) throw new Error(`drift: expected ${rows} legacy rows after planting (as many inserted as deleted), got ${n}`);
  return planted;
}

/** Keyset read of the compared columns, a page at a time, rows as arrays; optionally the TS encode + hash of every row, timed apart. */
async function streamAll(
  db: Executor,
  plan: EntityPlan,
  side: 'legacy' | 'readModel',
  hash: boolean,
): Promise<{ rows: number; readS: number; hashS: number | null }> {
  let after: unknown[] | null = null;
  let rows = 0;
  let readMs = 0;
  let hashMs = 0;
  for (;;) {
    const q = rangeQuery(plan[side], after, null, BASELINE_PAGE);
    let s = performance.now();
    const page = (await db.query<unknown[]>(q.sql, q.params, { arrays: true })).rows;
    readMs += performance.now() - s;
    rows += page.length;
    if (hash) {
      s = performance.now();
      for (const r of page) hashRow(plan.columns, r);
      hashMs += performance.now() - s;
    }
    if (page.length < BASELINE_PAGE) break;
    after = page[page.length - 1]!.slice(0, plan.keyKinds.length);
  }
  return { rows, readS: readMs / 1000, hashS: hash ? hashMs / 1000 : null };
}

/** The executor with the time of each query added to acc under a label the SQL decides. */
function timed(db: Executor, acc: Acc, label: (sql: string) => string): Executor {
  const wrapped: Executor = {
    dialect: db.dialect,
    inTransaction: db.inTransaction,
    async query<R>(sql: string, params?: readonly unknown[], opts?: QueryOptions) {
      const s = performance.now();
      try {
        return await db.query<R>(sql, params, opts);
      } finally {
        const a = (acc[label(sql)] ??= { ms: 0, n: 0, sql: sql.slice(0, 160) });
        a.ms += performance.now() - s;
        a.n++;
      }
    },
    exec: (sql) => db.exec(sql),
    transaction: (fn) => db.transaction((tx) => fn(timed(tx, acc, label))),
    close: () => db.close(),
  };
  return wrapped;
}

const fmtAcc = (acc: Acc) =>
  Object.entries(acc)
    .sort(([, a], [, b]) => b.ms - a.ms)
    .map(([k, v]) => `${k} ${round(v.ms / 1000, 2)} s/${v.n}`)
    .join(', ') || 'none';
