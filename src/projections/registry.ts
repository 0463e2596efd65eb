import type { EntityConfig } from '../config/schema.ts';
import { projectionOwner } from '../config/entitySchema.ts';
import { StranglerError } from '../errors/StranglerError.ts';
import type { Executor } from '../db/executor.ts';
import { loadUserModule } from './loader/loadUserModule.ts';
import { describeLegacyTable } from './modules/row/legacyTable.ts';
import { createRowProjection, type RowProjectionOptions } from './modules/row/rowProjection.ts';
import { projectionModuleProblems } from './define.ts';
import type { ProjectionModule, Upcaster } from './types.ts';
import { createUpcasterRegistry, type UpcasterRegistry } from './upcast.ts';

/** What a projection module file may export (`entities.X.projection: ./projections/carts.ts`). */
export interface ProjectionFileExports {
  /** A module, or a factory given the entity (so the stream template and tables come from the spec). */
  default: ProjectionModule | ((ctx: ProjectionContext) => ProjectionModule | Promise<ProjectionModule>);
  /** Upcasters for the module's event types; none = every event is taken as it is stored. */
  upcasters?: readonly Upcaster[];
}

export interface ProjectionContext {
  entity: string;
  config: EntityConfig;
}

/** A projection ready for the runner: apply events only after `upcasters.upcast(event)`. */
export interface RegisteredProjection {
  entity: string;
  /** `row`, or the absolute path of the module file. */
  source: string;
  module: ProjectionModule;
  upcasters: UpcasterRegistry;
}

export interface LoadProjectionsOptions {
  /** Module loader, given the module file's absolute path; default loadUserModule (tests pass a fake). */
  importModule?: (file: string) => Promise<unknown>;
  /**
   * The legacy database (legacy.database): a row projection whose read-model table does not
   * exist creates it from the legacy table's columns, read here.
   */
  legacy?: Executor | null;
}

/**
 * The projections of the spec, one per entity: `projection: row` → the generic row
 * projection for that entity; a path (made absolute by the config loader) → the module the
 * file exports (see ProjectionFileExports). The runner applies each module's events after
 * `upcasters.upcast(event)`. Fails at start-up, not at the first event: a bad export, or two
 * entities whose projections share a name (they would share one checkpoint and tables).
 */
export async function loadProjections(
  entities: Readonly<Record<string, EntityConfig>>,
  opts: LoadProjectionsOptions = {},
): Promise<RegisteredProjection[]> {
  const importModule = opts.importModule ?? loadUserModule;
  const projections: RegisteredProjection[] = [];
  for (const [entity, config] of Object.entries(entities)) {
    // `of:ENTITY`: the read model comes from another entity's projection; nothing to run here.
    if (projectionOwner(config.projection) !== null) continue;
    if (config.projection === 'row') {
      const legacy = opts.legacy ? await legacyColumns(opts.legacy, config.legacy.table) : undefined;
      const module = createRowProjection({ entity, config, ...(legacy ? { legacy } : {}) });
      projections.push({ entity, source: 'row', module, upcasters: createUpcasterRegistry([]) });
      continue;
    }
    const source = config.projection;
    const exports = await importModule(source).catch((err: unknown) => {
      throw new StranglerError(
        'projection_load_failed',
        `entities.${entity}.projection: cannot import ${source}: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    });
    const { module, upcasters } = await fromExports(exports, { entity, config }, source);
    projections.push({ entity, source, module, upcasters: createUpcasterRegistry(upcasters) });
  }
  const names = new Map<string, string>();
  for (const p of projections) {
    const other = names.get(p.module.name);
    if (other)
      throw new StranglerError(
        'duplicate_projection',
        `Entities ${other} and ${p.entity} both have a projection named "${p.module.name}"; each needs its own name (its checkpoint and tables).`,
      );
    names.set(p.module.name, p.entity);
  }
  return projections;
}

/** Never fails start-up: an unreadable legacy table matters only if the read-model table must be created. */
async function legacyColumns(db: Executor, table: string): Promise<RowProjectionOptions['legacy']> {
  return describeLegacyTable(db, table).catch((err: unknown) => ({ error: err instanceof Error ? err.message : String(err) }));
}

async function fromExports(
  exports: unknown,
  ctx: ProjectionContext,
  source: string,
): Promise<{ module: ProjectionModule; upcasters: readonly Upcaster[] }> {
  const ex = (exports ?? {}) as Partial<ProjectionFileExports>;
  const what = `entities.${ctx.entity}.projection (${source})`;
  const example = "export default defineProjection({ name: 'carts', ... }); export const upcasters = [...]";
  const made = typeof ex.default === 'function' ? await ex.default(ctx) : ex.default;
  const problems = projectionModuleProblems(made);
  if (problems.length) {
    throw new StranglerError(
      'invalid_projection_module',
      `${what}: the default export must be a projection module (name, version, tables, ddl, handles, apply) or a function returning one (${problems.join('; ')}). Example: ${example}`,
    );
  }
  const upcasters = ex.upcasters ?? [];
  if (!Array.isArray(upcasters))
    throw new StranglerError(
      'invalid_projection_module',
      `${what}: \`upcasters\` must be an array of { type, fromVersion, up }. Example: ${example}`,
    );
  return { module: made as ProjectionModule, upcasters };
}
