import { createHash } from 'node:crypto';
import type { EntityConfig, ReconciliationConfig } from '../../config/schema.ts';
import type { WhereSpec } from '../../config/whereSchema.ts';
import type { Executor } from '../../db/executor.ts';
import { StranglerError } from '../../errors/StranglerError.ts';
import { readModelTables } from '../../doctor/verify/readModelTables.ts';
import { describeTable, keyCollation, type ColumnInfo, type KeyCollation } from '../columns/describeTable.ts';
import { planColumns } from '../columns/planColumns.ts';
import { ENCODING_VERSION } from '../encoding/rowEncoding.ts';
import type { ColumnKind, ColumnPlan } from '../encoding/kinds.ts';
import { refuseSameTable } from './sameTable.ts';
import { checkWhere } from './sideFilter.ts';
import type { SideShape } from './sideSql.ts';

/** Everything a run of one entity needs to know, decided before the first row is read. */
export interface EntityPlan {
  entity: string;
  projection: string;
  legacyTable: string;
  /** Physical read-model table (a rebuild swaps them; strangler_projections.tables says which serves). */
  readModelTable: string;
  columns: ColumnPlan[];
  keyKinds: ColumnKind[];
  legacy: SideShape;
  readModel: SideShape;
  /**
   * How the key is walked. `bytes`: both sides in byte order, chunk by key range (the fast
   * path). `legacy`: a single text key under a non-binary legacy collation is walked in the
   * legacy's own order (its index) and the read model's rows of each chunk are fetched by key
   * (keyedWalk.ts); keys equal under the collation but not in bytes stay distinct.
   */
  keyWalk: { by: 'bytes' } | ({ by: 'legacy'; readModelBytewise: boolean } & KeyCollation);
  /**
   * The after-image a repair carries: the compared columns plus every other legacy column
   * the read model has a column for (same name), e.g. `updated_at` left out of the
   * comparison but required by the projection. Key columns first, like `legacy`.
   */
  image: { columns: ColumnPlan[]; legacy: SideShape };
  /** Stream of a key (`orders-{id}`); null for composite keys (no pending check, no repair). */
  streamOf: ((key: readonly string[]) => string) | null;
  /** sha256 of what decides the comparison: two runs with the same hash compared the same way. */
  configHash: string;
}

// Keys travel back to the databases as the values the drivers returned; these kinds compare
// alike in both (byte order for text, numeric order for integers).
const KEY_KINDS: readonly ColumnKind[] = ['integer', 'string', 'uuid'];

export async function planEntity(opts: {
  entity: string;
  config: EntityConfig;
  projection: string;
  legacy: Executor;
  store: Executor;
  settings: Pick<ReconciliationConfig, 'checksumAlgorithm'>;
}): Promise<EntityPlan> {
  const { entity, config } = opts;
  const legacyTable = config.legacy.table;
  const logical = config.readModel.table;
  const physical = (await readModelTables(opts.store, opts.projection, [logical]))[logical] ?? logical;
  await refuseSameTable({ entity, legacy: opts.legacy, store: opts.store, legacyTable, readModelTable: physical });
  const [legacyCols, rmCols] = await Promise.all([
    describeTable(opts.legacy, legacyTable, 'legacy'),
    describeTable(opts.store, physical, 'read model'),
  ]);
  const where = config.reconcile.where;
  checkWhere({ entity, side: 'legacy', table: legacyTable, dialect: opts.legacy.dialect, where: where?.legacy, columns: legacyCols });
  checkWhere({ entity, side: 'readModel', table: physical, dialect: opts.store.dialect, where: where?.readModel, columns: rmCols });
  const key = config.reconcile.key ?? [config.legacy.key];
  const columns = planColumns({
    entity,
    legacyTable,
    readModelTable: physical,
    legacy: legacyCols,
    readModel: rmCols,
    columns: config.reconcile.columns,
    rules: config.reconcile.rules,
    key,
  });
  // A single key is readModel.key on the read-model side; a composite one maps through reconcile.columns.
  const keyPlans = columns.slice(0, key.length).map((p) => (config.reconcile.key ? p : { ...p, readModel: config.readModel.key }));
  const plans = [...keyPlans, ...columns.slice(key.length)];
  const keyKinds = keyPlans.map((p) => p.kind);
  for (const p of keyPlans) {
    if (!KEY_KINDS.includes(p.kind)) {
      throw new StranglerError(
        'reconcile_key',
        `entities.${entity}.legacy.key "${p.legacy}" is a ${p.kind} column; reconciliation walks integer, string or UUID keys.`,
        { status: 400 },
      );
    }
    if (p.rules.length) {
      throw new StranglerError(
        'reconcile_key',
        `entities.${entity}.reconcile.rules: the key column "${p.legacy}" cannot have rules (${p.rules.join(', ')}); keys are compared exactly.`,
        { status: 400 },
      );
    }
  }
  const keyWalk = await chooseKeyWalk({ entity, legacyTable, legacy: opts.legacy, legacyCols, keyPlans, store: opts.store, rmCols });
  // The sides' filters; not the image's (a repair reads a filtered-out legacy row too: sideFilter.ts).
  const shape = (dialect: Executor['dialect'], table: string, names: string[], filter?: WhereSpec, nativeOrder = false): SideShape => ({
    dialect,
    table,
    columns: names,
    keyKinds,
    where: filter,
    ...(nativeOrder ? { nativeOrder } : {}),
  });
  const image = [...plans, ...imageExtras({ entity, legacyTable, physical, legacyCols, rmCols, compared: plans })];
  const template = config.stream;
  const configHash = createHash('sha256')
    .update(
      JSON.stringify({
        v: ENCODING_VERSION,
        algo: opts.settings.checksumAlgorithm,
        legacyTable,
        physical,
        columns: plans,
        // A cursor of one walk means nothing to the other: a run never resumes across them.
        ...(keyWalk.by === 'legacy' ? { keyWalk: keyWalk.by } : {}),
      }),
    )
    .update(where ? JSON.stringify(where) : '')
    .digest('hex');
  return {
    entity,
    projection: opts.projection,
    legacyTable,
    readModelTable: physical,
    columns: plans,
    keyKinds,
    keyWalk,
    legacy: shape(
      opts.legacy.dialect,
      legacyTable,
      plans.map((p) => p.legacy),
      where?.legacy,
      keyWalk.by === 'legacy',
    ),
    readModel: shape(
      opts.store.dialect,
      physical,
      plans.map((p) => p.readModel),
      where?.readModel,
    ),
    image: {
      columns: image,
      legacy: shape(
        opts.legacy.dialect,
        legacyTable,
        image.map((p) => p.legacy),
        undefined,
        keyWalk.by === 'legacy',
      ),
    },
    streamOf: key.length === 1 ? (k) => template.replaceAll('{id}', k[0]!) : null,
    configHash,
  };
}

/**
 * Byte order on both sides when every text key column of the legacy table orders byte by
 * byte; the legacy's own order otherwise, which needs a single key column. A PostgreSQL
 * legacy's composite key keeps the byte walk (COLLATE "C" on both sides: same rows, no index).
 */
async function chooseKeyWalk(o: {
  entity: string;
  legacyTable: string;
  legacy: Executor;
  legacyCols: ColumnInfo[];
  keyPlans: readonly ColumnPlan[];
  store: Executor;
  rmCols: ColumnInfo[];
}): Promise<EntityPlan['keyWalk']> {
  for (const p of o.keyPlans) {
    const lc = o.legacyCols.find((c) => c.name === p.legacy);
    if (!lc || p.kind === 'integer') continue;
    const facts = await keyCollation(o.legacy, lc);
    if (facts.bytewise) continue;
    if (o.keyPlans.length === 1) {
      // A read-model key in byte order lets a chunk whose keys come in byte order be checked as one range (keyedWalk.ts).
      const rc = o.rmCols.find((c) => c.name === p.readModel);
      const readModelBytewise = rc ? (await keyCollation(o.store, rc)).bytewise : false;
      return { by: 'legacy', readModelBytewise, ...facts };
    }
    if (o.legacy.dialect !== 'mysql') continue;
    throw new StranglerError(
      'reconcile_key',
      `The legacy key ${o.legacyTable}.${p.legacy} uses collation ${facts.collation}, which does not order keys byte by byte like the read model; ` +
        `a composite key (entities.${o.entity}.reconcile.key) needs a binary collation on its text columns (e.g. utf8mb4_bin); a single key column may have any collation.`,
      { status: 400 },
    );
  }
  return { by: 'bytes' };
}

/**
 * Legacy columns outside the comparison that the read model also has (same name): a repair
 * must carry them, or a projection that needs them (the orders projection's updated_at)
 * rejects the corrective event. A column whose type cannot be read canonically is left out.
 */
function imageExtras(o: {
  entity: string;
  legacyTable: string;
  physical: string;
  legacyCols: ColumnInfo[];
  rmCols: ColumnInfo[];
  compared: readonly ColumnPlan[];
}): ColumnPlan[] {
  const out: ColumnPlan[] = [];
  const rmNames = new Set(o.rmCols.map((c) => c.name));
  for (const c of o.legacyCols) {
    if (!rmNames.has(c.name) || o.compared.some((p) => p.legacy === c.name || p.readModel === c.name)) continue;
    try {
      out.push(
        ...planColumns({
          entity: o.entity,
          legacyTable: o.legacyTable,
          readModelTable: o.physical,
          legacy: o.legacyCols,
          readModel: o.rmCols,
          columns: { [c.name]: c.name },
          rules: {},
          key: [],
        }),
      );
    } catch {
      // Not comparable, so not readable canonically either: the image goes without it.
    }
  }
  return out;
}
