import type { Executor } from '../../db/executor.ts';
import { canonicalValue } from '../encoding/canonical.ts';
import { MOD64, PrefixSum } from '../encoding/rowEncoding.ts';
import type { DiffRow } from '../store/runs.ts';
import type { EntityPlan } from './entityPlan.ts';
import { diffOf, hashRows } from './hashedRows.ts';
import { keyText } from './keyText.ts';
import type { LegacyReader } from './legacyLimits.ts';
import { compareCodePoints, compareKeys, mergeRows, type HashedRow } from './merge.ts';
import type { Prefilter } from './prefilter.ts';
import { whereConditions } from './sideFilter.ts';
import { keysQuery, placeholders, quoteIdent, quoteTableName, rangeQuery, type Query, type SideShape } from './sideSql.ts';

/**
 * The walk of a single text key under a non-binary legacy collation (utf8mb4_general_ci,
 * utf8mb4_0900_ai_ci, latin1_swedish_ci, en_US.utf8, ICU …), with no change to the legacy
 * database. Its collation orders keys unlike the read model's byte order ('a' < 'B' there,
 * 'B' < 'a' here) and calls keys equal that differ in bytes ('abc' = 'ABC', 'x' = 'x ' under
 * PAD SPACE), so no key range means the same rows on both sides. So:
 * - chunks are ranges of the legacy's own order, read through its index;
 * - the read model's rows of a chunk are fetched by the chunk's keys (equality in the read
 *   model is byte equality), and rows are paired by their exact key bytes, never by the
 *   collation: a legacy 'abc' and a read-model 'ABC' are a missing and an extra row;
 * - with the prefilter, both sides send (key, hash prefix) per row instead of per-range sums,
 *   and only the rows whose prefixes differ are read whole;
 * - read-model rows no chunk asked for (extras) are found after the last chunk: when the read
 *   model holds more rows than the chunks found, it is walked in its own order and each page's
 *   keys are looked up in the legacy table (exact bytes again).
 */
export interface KeyedChunk {
  upTo: unknown[] | null;
  last: boolean;
  /** No row was read whole: every (key, prefix) pair matched. */
  prefiltered: boolean;
  counts: { legacy: number; readModel: number; matched: number };
  sums: { legacy: bigint; readModel: bigint };
  diffs: DiffRow[];
}

export interface KeyedWalk {
  chunk(after: unknown[] | null, size: number): Promise<KeyedChunk>;
  /** The read-model rows no chunk found, when the table holds more than `found` rows; null when it does not. */
  extras(found: number): Promise<{ rows: number; sum: bigint; diffs: DiffRow[] } | null>;
}

/** Keys per lookup statement. */
const LOOKUP = 5_000;

/** Array types a key list is sent as, by the read-model key's declared type. */
const KEY_ARRAY: Record<string, string> = { text: 'text', 'character varying': 'text', character: 'bpchar', uuid: 'uuid' };

/**
 * `select` over the read model's rows whose key is one of `keys`, one index probe per key:
 * PostgreSQL plans `key = ANY(list)` or a join with the list as a scan of the whole table once
 * the list is long (a tenth of a 200,000-row table already), which would make the walk
 * quadratic; a LATERAL subquery behind OFFSET 0 is not flattened, so each key is a probe.
 */
export function probeQuery(plan: EntityPlan, select: string, keys: readonly unknown[]): Query {
  const s = plan.readModel;
  const k = quoteIdent(s.dialect, s.columns[0]!);
  const table = quoteTableName(s.dialect, s.table);
  const type = KEY_ARRAY[plan.columns[0]!.types.readModel];
  const params: unknown[] = [];
  if (!type || s.dialect === 'mysql') {
    const next = placeholders(s.dialect, 1);
    const conds = whereConditions(s, next, params);
    const ph = keys.map((v) => (params.push(v), next()));
    return { sql: `SELECT ${select} FROM ${table} WHERE ${[...conds, `${k} IN (${ph.join(', ')})`].join(' AND ')}`, params };
  }
  params.push(keys);
  const conds = whereConditions(s, placeholders(s.dialect, 2), params);
  return {
    sql: `SELECT x.* FROM unnest($1::${type}[]) AS strangler_keys(strangler_key),
      LATERAL (SELECT ${select} FROM ${table} WHERE ${[...conds, `${k} = strangler_keys.strangler_key`].join(' AND ')} OFFSET 0) AS x`,
    params,
  };
}

const mod64 = (v: unknown) => ((BigInt(String(v ?? '0')) % MOD64) + MOD64) % MOD64;

export function createKeyedWalk(o: {
  plan: EntityPlan;
  reader: LegacyReader;
  store: Executor;
  prefilter: Prefilter | null;
  /**
   * Read the next chunk's legacy rows while the read model answers for this one (the read
   * model's query needs the legacy's keys, so the two sides cannot run side by side within a
   * chunk). Off under maxRowsPerSecond / pauseWhenThreadsRunning: they pace every legacy read.
   */
  readAhead: boolean;
}): KeyedWalk {
  const { plan, reader, store, prefilter } = o;
  let ahead: { after: string; size: number; rows: Promise<unknown[][]> } | null = null;

  /** The legacy rows of the chunk after `after` (as read ahead, if they were), and the size they were read at. */
  async function legacyChunk(after: unknown[] | null, size: number): Promise<{ rows: unknown[][]; size: number }> {
    const read = (from: unknown[] | null, n: number) => {
      const q = prefilter ? prefilter.keyed.legacy(from, n) : rangeQuery(plan.legacy, from, null, n);
      return reader.query<unknown[]>(q.sql, q.params).then((r) => r.rows);
    };
    const mine = ahead?.after === JSON.stringify(after) ? ahead : null;
    ahead = null;
    const used = mine?.size ?? size;
    const rows = await (mine ? mine.rows : read(after, size));
    if (o.readAhead && rows.length >= used) {
      const next = [rows.at(-1)![0]];
      const p = read(next, size);
      p.catch(() => {}); // surfaces when the next chunk awaits it (a statement timeout retries smaller there)
      ahead = { after: JSON.stringify(next), size, rows: p };
    }
    return { rows, size: used };
  }
  const keyPlan = plan.columns[0]!;
  const textOf = (v: unknown) => keyText([canonicalValue(keyPlan, v)]);
  const byKey = (a: HashedRow, b: HashedRow) => compareKeys(plan.keyKinds, a.keyCanon, b.keyCanon);
  const rangeable = plan.keyWalk.by === 'legacy' && plan.keyWalk.readModelBytewise && keyPlan.kind === 'string';
  const inByteOrder = (keys: readonly unknown[]) =>
    rangeable && keys.every((k, i) => typeof k === 'string' && (i === 0 || compareCodePoints(keys[i - 1] as string, k) < 0));

  /** Rows of a side whose key is one of `keys`, a statement per LOOKUP keys. */
  async function lookup(side: 'legacy' | 'readModel', keys: readonly unknown[], shape: SideShape = plan[side]): Promise<unknown[][]> {
    const out: unknown[][] = [];
    for (let i = 0; i < keys.length; i += LOOKUP) {
      const batch = keys.slice(i, i + LOOKUP);
      const q =
        side === 'legacy'
          ? keysQuery(
              shape,
              batch.map((k) => [k]),
            )
          : probeQuery(plan, shape.columns.map((c) => quoteIdent(shape.dialect, c)).join(', '), batch);
      const { rows } =
        side === 'legacy'
          ? await reader.query<unknown[]>(q.sql, q.params)
          : await store.query<unknown[]>(q.sql, q.params, { arrays: true });
      out.push(...rows);
    }
    return out;
  }

  /** Both sides' rows of `keys`, hashed, in byte order, merged by exact key. */
  async function compare(legacyRows: unknown[][], keys: readonly unknown[], chunk: KeyedChunk) {
    const l = hashRows(plan, legacyRows).sort(byKey);
    const r = hashRows(plan, await lookup('readModel', keys)).sort(byKey);
    mergeRows(plan.columns, plan.keyKinds, l, r, (x) => {
      if (x.kind === 'matched') chunk.counts.matched++;
      else chunk.diffs.push(diffOf(plan, x));
    });
    return { l, r };
  }

  async function tsChunk(after: unknown[] | null, size: number): Promise<KeyedChunk> {
    const { rows, size: used } = await legacyChunk(after, size);
    const c = start(rows.length < used, rows.at(-1));
    const { l, r } = await compare(
      rows,
      rows.map((row) => row[0]),
      c,
    );
    const ls = new PrefixSum();
    const rs = new PrefixSum();
    for (const h of l) ls.add(h.hash);
    for (const h of r) rs.add(h.hash);
    c.counts.legacy = l.length;
    c.counts.readModel = r.length;
    c.sums.legacy = ls.value();
    c.sums.readModel = rs.value();
    return c;
  }

  function start(last: boolean, lastRow: unknown[] | undefined): KeyedChunk {
    return {
      upTo: last || !lastRow ? null : [lastRow[0]],
      last,
      prefiltered: false,
      counts: { legacy: 0, readModel: 0, matched: 0 },
      sums: { legacy: 0n, readModel: 0n },
      diffs: [],
    };
  }

  async function prefilteredChunk(pre: Prefilter, after: unknown[] | null, size: number): Promise<KeyedChunk> {
    const { rows: lrows, size: used } = await legacyChunk(after, size);
    const c = start(lrows.length < used, lrows.at(-1));
    if (!lrows.length) return { ...c, prefiltered: true };
    const keys = lrows.map((r) => r[0]);
    // The chunk's sums first: equal, and no read-model row crosses the wire.
    let legacySum = 0n;
    for (const r of lrows) legacySum += mod64(r[1]);
    const sumOf = async (q: Query) => pre.read((await store.query<unknown[]>(q.sql, q.params, { arrays: true })).rows[0]);
    const same = (s: { count: number; sum: bigint }) => s.count === lrows.length && s.sum === legacySum % MOD64;
    // Keys that came in byte order (lower-case UUIDs under a _ci collation do) are checked as
    // one byte range of the read model, an index range scan; equal sums say the range holds
    // exactly these rows. Otherwise, or when the range differs, each key is probed.
    let sum = inByteOrder(keys) ? await sumOf(pre.keyed.readModelRangeSum(keys[0], keys.at(-1))) : null;
    if (!sum || !same(sum)) sum = await sumOf(pre.keyed.readModelSum(keys));
    if (same(sum)) {
      c.counts = { legacy: lrows.length, readModel: sum.count, matched: lrows.length };
      c.sums = { legacy: sum.sum, readModel: sum.sum };
      return { ...c, prefiltered: true };
    }
    const q = pre.keyed.readModel(keys);
    const rrows = (await store.query<unknown[]>(q.sql, q.params, { arrays: true })).rows;
    const rm = new Map<string, bigint>();
    for (const r of rrows) {
      const p = mod64(r[1]);
      rm.set(textOf(r[0]), p);
      c.sums.readModel += p;
    }
    const suspects: unknown[] = [];
    for (const r of lrows) {
      const p = mod64(r[1]);
      c.sums.legacy += p;
      if (rm.get(textOf(r[0])) === p) c.counts.matched++;
      else suspects.push(r[0]);
    }
    c.counts.legacy = lrows.length;
    c.counts.readModel = rrows.length;
    c.sums.legacy %= MOD64;
    c.sums.readModel %= MOD64;
    if (suspects.length) {
      const d = { ...c, counts: { ...c.counts, matched: 0 }, diffs: [] as DiffRow[] };
      await compare(await lookup('legacy', suspects), suspects, d);
      c.counts.matched += d.counts.matched;
      c.diffs = d.diffs;
    }
    c.prefiltered = suspects.length === 0;
    return c;
  }

  return {
    chunk: (after, size) => (prefilter ? prefilteredChunk(prefilter, after, size) : tsChunk(after, size)),

    async extras(found) {
      const table = quoteTableName(store.dialect, plan.readModel.table);
      const params: unknown[] = [];
      const conds = whereConditions(plan.readModel, placeholders(store.dialect, 1), params);
      const filter = conds.length ? ` WHERE ${conds.join(' AND ')}` : '';
      const { rows: n } = await store.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}${filter}`, params);
      if (Number(n[0]?.n ?? 0) <= found) return null;
      // The read model in its own key order (its index); the legacy looked up by key.
      const shape: SideShape = { ...plan.readModel, nativeOrder: true };
      const legacyKeys: SideShape = { ...plan.legacy, columns: plan.legacy.columns.slice(0, 1) };
      const out = { rows: 0, sum: 0n, diffs: [] as DiffRow[] };
      let from: unknown[] | null = null;
      for (;;) {
        const q = rangeQuery(shape, from, null, LOOKUP);
        const page = (await store.query<unknown[]>(q.sql, q.params, { arrays: true })).rows;
        if (!page.length) break;
        from = [page.at(-1)![0]];
        const inLegacy = new Set(
          (
            await lookup(
              'legacy',
              page.map((r) => r[0]),
              legacyKeys,
            )
          ).map((r) => textOf(r[0])),
        );
        const sum = new PrefixSum();
        for (const h of hashRows(plan, page)) {
          if (inLegacy.has(keyText(h.keyCanon))) continue;
          out.rows++;
          sum.add(h.hash);
          out.diffs.push(diffOf(plan, { kind: 'extra', readModel: h }));
        }
        out.sum = (out.sum + sum.value()) % MOD64;
        if (page.length < LOOKUP) break;
      }
      return out;
    },
  };
}
