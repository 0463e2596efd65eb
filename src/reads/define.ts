import { StranglerError } from '../errors/StranglerError.ts';
import type { EntityConfig } from '../config/schema.ts';
import type { ReadHandler } from './types.ts';

/** What a read-handler module's factory is given (`export default (ctx) => defineReadHandler({...})`). */
export interface ReadHandlerContext {
  entity: string;
  /** The entity's config: readModel.table, stream template, … */
  config: EntityConfig;
  /** The route the module is configured for, as in the YAML: `GET /orders/:id`. */
  route: string;
}

/** What a read-handler module file may export (`reads: [{ route, handler: ./reads/getOrder.ts }]`). */
export interface ReadHandlerFileExports {
  default: ReadHandler | ((ctx: ReadHandlerContext) => ReadHandler | Promise<ReadHandler>);
}

const EXAMPLE = 'export default ({ route }) => defineReadHandler({ route, handle: async (req, { db }) => ({ status: 200, body: {...} }) })';

/** What is wrong with a would-be read handler; [] when nothing. */
export function readHandlerProblems(h: unknown): string[] {
  if (typeof h !== 'object' || h === null) return ['it is not an object'];
  const r = h as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof r.route !== 'string' || !/^GET \//.test(r.route)) problems.push('route must be the route it answers, like "GET /orders/:id"');
  if (typeof r.handle !== 'function') problems.push('handle must be a function (req, ctx) => Promise<{ status, body }>');
  return problems;
}

/**
 * The typed way to write a read handler (see docs/extending.md): checks it once, when the
 * file is loaded, so a mistake stops the sidecar at start-up. Returns the handler unchanged.
 */
export function defineReadHandler<H extends ReadHandler>(handler: H): H {
  const problems = readHandlerProblems(handler);
  if (problems.length) throw new StranglerError('invalid_read_handler', `defineReadHandler: ${problems.join('; ')}. Example: ${EXAMPLE}`);
  return handler;
}

export { EXAMPLE as READ_HANDLER_EXAMPLE };
