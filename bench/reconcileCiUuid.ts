/**
 * bench/reconcile, the collation case (issue 11, item 2): the same 1,000,000 rows as the
 * headline, keyed by a CHAR(36) utf8mb4_general_ci UUID in MariaDB (the default collation of
 * such services) and a varchar(36) in the PostgreSQL read model, identical, reconciled with
 * the headline's settings (prefilter auto, graceMs 0). The key is walked in the legacy's
 * own order and the read model's rows are fetched by key (src/reconcile/engine/keyedWalk.ts).
 * Target: at most 2x the headline's identical wall time.
 */
import { configSchema } from '../src/config/schema.ts';
import type { Executor } from '../src/db/executor.ts';
import { createReconciler } from '../src/reconcile/reconciler.ts';
import { round } from './lib.ts';

const TABLE = 'ci_uuid';
const COLUMNS = ['id', 'customer_id', 'status', 'total_amount', 'created_at', 'updated_at'];

/** A UUID-shaped key from n, the same text in MariaDB and PostgreSQL (md5 of n's decimal text). */
const uuidSql = (h: string) =>
  `CONCAT(SUBSTR(${h}, 1, 8), '-', SUBSTR(${h}, 9, 4), '-', SUBSTR(${h}, 13, 4), '-', SUBSTR(${h}, 17, 4), '-', SUBSTR(${h}, 21, 12))`;

export async function seedCiUuid(legacy: Executor, store: Executor, rows: number): Promise<void> {
  await legacy.exec(`CREATE TABLE ${TABLE} (
      id CHAR(36) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL PRIMARY KEY,
      customer_id VARCHAR(64) NOT NULL, status VARCHAR(16) NOT NULL, total_amount DECIMAL(12,2) NOT NULL,
      created_at DATETIME(6) NOT NULL, updated_at DATETIME(6) NOT NULL) DEFAULT CHARSET utf8mb4 COLLATE utf8mb4_general_ci`);
  await store.exec(`CREATE TABLE ${TABLE} (id varchar(36) PRIMARY KEY, customer_id text NOT NULL, status text NOT NULL,
      total_amount numeric(12,2) NOT NULL, created_at timestamp(6) NOT NULL, updated_at timestamp(6) NOT NULL)`);
  const maria = `INSERT INTO ${TABLE} SELECT ${uuidSql('MD5(seq)')}, CONCAT('cust-', seq % 5000), ELT(seq % 3 + 1, 'CREATED', 'PAID', 'CANCELLED'),
      (seq % 100000) / 100, TIMESTAMP'2024-01-01 00:00:00' + INTERVAL seq SECOND + INTERVAL (seq % 1000000) MICROSECOND,
      TIMESTAMP'2024-01-01 00:00:00' + INTERVAL (seq + seq % 86400) SECOND + INTERVAL ((seq * 7) % 1000000) MICROSECOND FROM seq_1_to_${rows}`;
  const pg = `INSERT INTO ${TABLE} SELECT ${uuidSql('md5(n::text)')}, 'cust-' || (n % 5000), (ARRAY['CREATED', 'PAID', 'CANCELLED'])[n % 3 + 1],
      (n % 100000) / 100.0, timestamp '2024-01-01 00:00:00' + n * interval '1 second' + (n % 1000000) * interval '1 microsecond',
      timestamp '2024-01-01 00:00:00' + (n + n % 86400) * interval '1 second' + ((n * 7) % 1000000) * interval '1 microsecond'
      FROM generate_series(1, ${rows}) AS n`;
  await Promise.all([
    (async () => {
      await legacy.exec(`SET SESSION unique_checks = 0; ${maria}; SET SESSION unique_checks = 1`);
      await legacy.query(`ANALYZE TABLE ${TABLE}`);
    })(),
    (async () => {
      await store.exec(pg);
      await store.exec(`VACUUM (ANALYZE) ${TABLE}`);
      await store.exec('CHECKPOINT');
    })(),
  ]);
}

/** The key's collation on each side, read back from information_schema (PostgreSQL: the database's when the column has none). */
export async function readCiUuidSettings(legacy: Executor, store: Executor): Promise<Record<string, string | null>> {
  const l = await legacy.query<{ c: string; t: string }>(
    `SELECT COLLATION_NAME AS c, COLUMN_TYPE AS t FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = 'id'`,
    [TABLE],
  );
  const r = await store.query<{ c: string | null; t: string; d: string }>(
    `SELECT collation_name AS c, data_type AS t, (SELECT datcollate FROM pg_database WHERE datname = current_database()) AS d
       FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 AND column_name = 'id'`,
    [TABLE],
  );
  return {
    legacyKeyType: String(l.rows[0]?.t),
    legacyKeyCollation: String(l.rows[0]?.c),
    readModelKeyType: String(r.rows[0]?.t),
    readModelKeyCollation: r.rows[0]?.c ?? `database default (${r.rows[0]?.d})`,
  };
}

export interface CiUuidRun {
  wallS: number;
  chunks: number;
  prefilterEnabled: boolean;
  reason: string;
}

/** One identical run over the ci_uuid table with the headline's settings; throws unless every row matched. */
export async function runCiUuid(legacy: Executor, store: Executor, rows: number): Promise<CiUuidRun> {
  const config = configSchema.parse({
    legacy: { upstream: 'http://127.0.0.1:1' },
    reconciliation: { graceMs: 0 },
    entities: { [TABLE]: { stream: `${TABLE}-{id}`, reconcile: { columns: COLUMNS } } },
  });
  const reconciler = createReconciler({ config, legacy, store, projections: [], owner: 'bench-ci-uuid' });
  const s = performance.now();
  const [result] = await reconciler.run({ entity: TABLE, trigger: 'bench-ci-uuid' });
  const wallS = (performance.now() - s) / 1000;
  if (!result || 'error' in result)
    throw new Error(`ci_uuid: reconciliation failed: ${result && 'error' in result ? result.error.message : 'no result'}`);
  if (result.outcome.kind !== 'finished') throw new Error(`ci_uuid: run skipped: ${result.outcome.reason}`);
  const r = result.outcome.report;
  const bad = r.missingInProjection + r.extraInProjection + r.differing;
  if (bad || r.matched !== rows || r.legacyRows !== rows || r.readModelRows !== rows || r.tableSha256.legacy !== r.tableSha256.readModel)
    throw new Error(
      `ci_uuid: identical tables did not reconcile cleanly: legacy ${r.legacyRows}, read model ${r.readModelRows}, matched ${r.matched}, ` +
        `missing ${r.missingInProjection}, extra ${r.extraInProjection}, differing ${r.differing}; samples ${JSON.stringify(r.samples.slice(0, 3))}`,
    );
  console.log(
    `  identical, ${TABLE} (CHAR(36) utf8mb4_general_ci key): ${round(wallS, 2)} s wall; chunks ${r.chunks}, prefiltered ${r.prefilteredChunks}, ` +
      `prefilter ${r.prefilter.enabled ? 'on' : 'off'} (${r.prefilter.reason})`,
  );
  return { wallS, chunks: r.chunks, prefilterEnabled: r.prefilter.enabled, reason: r.prefilter.reason };
}
