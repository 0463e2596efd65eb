import type { EntityConfig } from '../config/schema.ts';
import type { Executor } from '../db/executor.ts';
import { StranglerError } from '../errors/StranglerError.ts';
import { loadUserModule } from '../projections/loader/loadUserModule.ts';
import { READ_HANDLER_EXAMPLE, readHandlerProblems, type ReadHandlerContext, type ReadHandlerFileExports } from './define.ts';
import { createQueryHandler } from './queryHandler.ts';
import type { ReadHandler, ReadHandlers } from './types.ts';

export interface LoadReadHandlersOptions {
  /** Module loader, given the module file's absolute path; default loadUserModule. */
  importModule?: (file: string) => Promise<unknown>;
  /**
   * The read model's database (the event store's): a declarative read whose table exists is
   * checked against its columns now, so a wrong column stops start-up. A table that does not
   * exist yet (its projection has not created it) is checked on the first request instead.
   */
  db?: Executor;
}

/**
 * Every `reads` route of the spec with its handler: `query:` → the declarative handler,
 * `handler:` → the module's default export (a handler, or a factory given ReadHandlerContext).
 * Fails at start-up naming the file and the route: a module that cannot be imported, a wrong
 * export, a handler declaring another route, or (with `db`) a column the table lacks.
 */
export async function loadReadHandlers(
  entities: Readonly<Record<string, EntityConfig>>,
  opts: LoadReadHandlersOptions = {},
): Promise<ReadHandlers> {
  const importModule = opts.importModule ?? loadUserModule;
  const all = new Map<string, Map<string, ReadHandler>>();
  for (const [entity, config] of Object.entries(entities)) {
    const routes = new Map<string, ReadHandler>();
    for (const [i, read] of config.reads.entries()) {
      const where = `entities.${entity}.reads[${i}]`;
      if (read.query !== undefined) {
        const handler = createQueryHandler(read.route, read.query, `${where}.query`);
        if (opts.db) await handler.check(opts.db);
        routes.set(read.route, handler);
        continue;
      }
      const file = read.handler!;
      const what = `${where}.handler (${file}, for "${read.route}")`;
      const exports = await importModule(file).catch((err: unknown) => {
        throw new StranglerError(
          'read_handler_load_failed',
          `${what}: cannot import it: ${err instanceof Error ? err.message : String(err)}`,
          {
            cause: err,
          },
        );
      });
      routes.set(read.route, await fromExports(exports, { entity, config, route: read.route }, what));
    }
    if (routes.size) all.set(entity, routes);
  }
  return all;
}

async function fromExports(exports: unknown, ctx: ReadHandlerContext, what: string): Promise<ReadHandler> {
  const ex = (exports ?? {}) as Partial<ReadHandlerFileExports>;
  let made: unknown;
  try {
    made = typeof ex.default === 'function' ? await ex.default(ctx) : ex.default;
  } catch (err) {
    throw new StranglerError('invalid_read_handler', `${what}: its factory failed: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
  const problems = readHandlerProblems(made);
  if (problems.length)
    throw new StranglerError(
      'invalid_read_handler',
      `${what}: the default export must be a read handler ({ route, handle }) or a function returning one (${problems.join('; ')}). Example: ${READ_HANDLER_EXAMPLE}`,
    );
  const handler = made as ReadHandler;
  if (handler.route !== ctx.route)
    throw new StranglerError(
      'invalid_read_handler',
      `${what}: the handler answers "${handler.route}", but it is configured for "${ctx.route}"; make them the same (a factory can use ctx.route)`,
    );
  return handler;
}

/** The routes of `entity` that have a handler (for the canary's readiness: EntityReadiness.handled). */
export function handledRoutes(handlers: ReadHandlers, entity: string): string[] {
  return [...(handlers.get(entity)?.keys() ?? [])];
}
