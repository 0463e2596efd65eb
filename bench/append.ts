/**
 * bench/append: event store append throughput on real PostgreSQL 15.
 *   - single-event appends/s with 16 connections (and p50/p99 append latency), as the
 *     store runs by default (concurrent appends grouped: src/eventstore/appendGroups.ts),
 *     and again with grouping off (every append its own statement and commit)
 *   - the physical baseline in the same run: a bare single-row INSERT loop into a plain
 *     table with the same 16 connections, one statement and one commit per row.
 *     single_vs_raw = grouped appends vs these ungrouped INSERTs at the same concurrency
 *     (group commit is the product's); single_vs_raw_ungrouped compares like with like.
 *     The three run in alternating slices (ROUNDS), so machine drift hits them alike
 *   - batched appends, 500 events per batch, events/s
 * Targets (2-core machine): single >= 0.7x raw INSERT; batched >= 50,000 events/s.
 */
import { randomUUID } from 'node:crypto';
import { createPgExecutor } from '../src/db/pgExecutor.ts';
import { DEFAULT_APPEND_GROUPS, openEventStore } from '../src/eventstore/index.ts';
import { startPostgres } from '../test/harness/servers.ts';
import { closedLoop, percentile, readPgSettings, requireSettings, round, table, writeResult } from './lib.ts';

// The baseline is prepared too, as the append is: the ratio compares work, not planning.
const RAW_INSERT = 'INSERT INTO bench_raw (payload) VALUES ($1)';

/** What every run claims besides fsync; read back from the server before measuring. */
const CLAIMED = { synchronous_commit: 'on', shared_buffers: '256MB', default_transaction_isolation: 'read committed' };

const connections = 16;
/** The single-append measurements run in this many alternating slices. */
const ROUNDS = 3;
const batchSize = 500;
const batchConnections = 4;

/**
 * Runs the measurements twice, on two fresh servers: with production durability
 * (fsync=on, the figures the targets are judged on) and with fsync=off, where commits
 * cost nothing and the CPU work per append decides (reported alongside, with a _fsync_off suffix).
 */
export async function run(opts: { seconds?: number } = {}): Promise<Record<string, number | null>> {
  const seconds = opts.seconds ?? Number(process.env.BENCH_SECONDS ?? 6);
  const durable = await measure(true, seconds);
  const cpuBound = await measure(false, seconds);
  const figures: Record<string, number | null> = { ...durable.figures };
  for (const [k, v] of Object.entries(cpuBound.figures)) figures[`${k}_fsync_off`] = v;
  const file = writeResult({
    name: 'append',
    settings: {
      seconds,
      connections,
      batchSize,
      batchConnections,
      appendGroups: DEFAULT_APPEND_GROUPS,
      rounds: ROUNDS,
      comparisons: {
        single_vs_raw: `grouped single-event appends (the store's default: concurrent appends share a statement and a commit) vs ungrouped single-row INSERTs (one statement, one commit each) at the same concurrency (${connections} connections): group commit is the product's, the baseline has none`,
        single_vs_raw_ungrouped: `single-event appends with grouping off vs the same ungrouped INSERTs at ${connections} connections: the like-for-like cost of an append`,
        alternation: `raw INSERT, grouped append and ungrouped append run in ${ROUNDS} alternating slices of seconds/${ROUNDS} each; per measurement the slices are summed`,
      },
      postgres: durable.pgSettings,
      postgres_fsync_off_run: cpuBound.pgSettings,
    },
    figures,
  });
  console.log(`wrote ${file}`);
  return figures;
}

type Run = Awaited<ReturnType<typeof closedLoop>>;
const emptyRun = (): Run => ({ ops: 0, elapsedS: 0, latenciesMs: [] });
function addRun(into: Run, r: Run): void {
  into.ops += r.ops;
  into.elapsedS += r.elapsedS;
  for (const l of r.latenciesMs) into.latenciesMs.push(l);
}

async function measure(fsync: boolean, seconds: number): Promise<{ figures: Record<string, number>; pgSettings: Record<string, string> }> {
  const server = await startPostgres({ fsync, settings: { max_connections: '100', shared_buffers: '256MB' } });
  try {
    const store = await openEventStore({ url: server.url, migrate: true, poolSize: connections });
    const ungrouped = await openEventStore({ url: server.url, poolSize: connections, appendGroups: { maxInFlight: 0 } });
    const raw = createPgExecutor({ url: server.url, max: connections });
    const pgSettings = await readPgSettings((sql) => raw.query(sql));
    requireSettings(`bench/append (fsync ${fsync ? 'on' : 'off'} run)`, { fsync: fsync ? 'on' : 'off', ...CLAIMED }, pgSettings);
    await raw.exec('CREATE TABLE bench_raw (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, payload jsonb NOT NULL)');
    const payload = { orderId: 'ord_0123456789abcdef', customerId: 'c-42', status: 'PAID', totalAmount: '129.90' };
    const payloadText = JSON.stringify(payload);

    // Warm both paths (plans, caches, pool connections) before measuring.
    await closedLoop(connections, 1, async (l, i) => void (await store.append(`warm-${l}-${i % 50}`, [{ type: 'Warm', data: payload }])));
    await closedLoop(
      connections,
      1,
      async (l, i) => void (await ungrouped.append(`warm-${l}-${i % 50}`, [{ type: 'Warm', data: payload }])),
    );
    await closedLoop(connections, 1, async () => void (await raw.query(RAW_INSERT, [payloadText], { name: 'bench_raw_insert' })));

    // The three single-append measurements alternate, ROUNDS slices each, so drift on the
    // machine (other load, the table and WAL growing) hits all three alike.
    const rawRun = emptyRun();
    const single = emptyRun();
    const alone = emptyRun();
    let groupingUsed = { appends: 0, statements: 0 };
    const slice = seconds / ROUNDS;
    for (let r = 0; r < ROUNDS; r++) {
      addRun(
        rawRun,
        await closedLoop(connections, slice, async () => void (await raw.query(RAW_INSERT, [payloadText], { name: 'bench_raw_insert' }))),
      );
      const g0 = store.appendStats();
      addRun(
        single,
        await closedLoop(
          connections,
          slice,
          async (l, i) => void (await store.append(`orders-${r}-${l}-${i % 200}`, [{ type: 'OrderPaid', data: payload }])),
        ),
      );
      const g1 = store.appendStats();
      groupingUsed = {
        appends: groupingUsed.appends + g1.appends - g0.appends,
        statements: groupingUsed.statements + g1.statements - g0.statements,
      };
      addRun(
        alone,
        await closedLoop(
          connections,
          slice,
          async (l, i) => void (await ungrouped.append(`alone-${r}-${l}-${i % 200}`, [{ type: 'OrderPaid', data: payload }])),
        ),
      );
    }

    const batch = Array.from({ length: batchSize }, () => ({ type: 'OrderPaid', data: payload }));
    const batched = await closedLoop(
      batchConnections,
      seconds,
      async (l, i) => void (await store.append(`batch-${l}-${i}-${randomUUID()}`, batch)),
    );

    const figures = {
      single_appends_per_s: round(single.ops / single.elapsedS, 0),
      raw_insert_per_s: round(rawRun.ops / rawRun.elapsedS, 0),
      single_vs_raw: round(single.ops / single.elapsedS / (rawRun.ops / rawRun.elapsedS), 3),
      appends_per_statement: round(groupingUsed.appends / groupingUsed.statements, 2),
      single_appends_per_s_ungrouped: round(alone.ops / alone.elapsedS, 0),
      single_vs_raw_ungrouped: round(alone.ops / alone.elapsedS / (rawRun.ops / rawRun.elapsedS), 3),
      append_p50_ms_ungrouped: round(percentile(alone.latenciesMs, 50), 3),
      batched_events_per_s: round((batched.ops * batchSize) / batched.elapsedS, 0),
      append_p50_ms: round(percentile(single.latenciesMs, 50), 3),
      append_p99_ms: round(percentile(single.latenciesMs, 99), 3),
      raw_insert_p50_ms: round(percentile(rawRun.latenciesMs, 50), 3),
      batch_p50_ms: round(percentile(batched.latenciesMs, 50), 2),
    };
    await raw.close();
    await ungrouped.close();
    await store.close();
    console.log(
      `bench/append (PostgreSQL ${pgSettings.server_version}, fsync=${pgSettings.fsync}, synchronous_commit=${pgSettings.synchronous_commit}, ${connections} connections, ${seconds}s each)`,
    );
    console.log(
      table([
        ['bare INSERT (baseline)', `${figures.raw_insert_per_s} rows/s, p50 ${figures.raw_insert_p50_ms} ms`],
        [
          'single-event append',
          `${figures.single_appends_per_s} appends/s, p50 ${figures.append_p50_ms} ms, p99 ${figures.append_p99_ms} ms (${figures.appends_per_statement} appends per statement)`,
        ],
        ['single vs bare INSERT', `${figures.single_vs_raw}x (target >= 0.7)`],
        [
          '  grouping off',
          `${figures.single_appends_per_s_ungrouped} appends/s, p50 ${figures.append_p50_ms_ungrouped} ms: ${figures.single_vs_raw_ungrouped}x`,
        ],
        [
          `batched (${batchSize}/batch, ${batchConnections} conns)`,
          `${figures.batched_events_per_s} events/s (target >= 50000), p50 ${figures.batch_p50_ms} ms/batch`,
        ],
      ]),
    );
    return { figures, pgSettings };
  } finally {
    await server.destroy();
  }
}
