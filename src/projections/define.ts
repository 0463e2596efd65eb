import { StranglerError } from '../errors/StranglerError.ts';
import type { ProjectionModule } from './types.ts';

const EXAMPLE =
  "defineProjection({ name: 'carts', version: 1, tables: ['carts'], ddl: (t) => `CREATE TABLE IF NOT EXISTS ...`, handles: ['CartCreated'], streams: ['carts-'], apply: async (tx, events, t) => {...} })";

/** What is wrong with a would-be projection module, field by field; [] when nothing. */
export function projectionModuleProblems(m: unknown): string[] {
  if (typeof m !== 'object' || m === null) return ['it is not an object'];
  const p = m as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof p.name !== 'string' || p.name === '') problems.push('name must be a non-empty string');
  if (!Number.isInteger(p.version)) problems.push('version must be an integer');
  if (!Array.isArray(p.tables)) problems.push('tables must be an array of logical table names');
  if (!Array.isArray(p.handles)) problems.push('handles must be an array of event types');
  if (p.streams !== undefined && !(Array.isArray(p.streams) && p.streams.every((s) => typeof s === 'string')))
    problems.push('streams must be an array of stream id prefixes');
  if (typeof p.ddl !== 'function') problems.push('ddl must be a function');
  if (typeof p.apply !== 'function') problems.push('apply must be a function');
  if (p.fold !== undefined) {
    const f = p.fold as Record<string, unknown> | null;
    const parts = ['initial', 'apply', 'serialize', 'deserialize', 'rows'];
    if (
      typeof f !== 'object' ||
      f === null ||
      typeof f.kind !== 'string' ||
      !Number.isInteger(f.version) ||
      parts.some((k) => typeof f[k] !== 'function')
    )
      problems.push(`fold must be { kind, version, ${parts.join(', ')} }`);
  }
  return problems;
}

/**
 * The typed way to write a projection module (see docs/extending.md): checks the module
 * once, when the file is loaded, so a mistake stops the sidecar at start-up with the field
 * named rather than at the first event. Returns the module unchanged.
 */
export function defineProjection<M extends ProjectionModule>(module: M): M {
  const problems = projectionModuleProblems(module);
  if (problems.length)
    throw new StranglerError('invalid_projection_module', `defineProjection: ${problems.join('; ')}. Example: ${EXAMPLE}`);
  return module;
}
