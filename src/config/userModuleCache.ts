import path from 'node:path';
import { PACKAGE_ROOT } from '../paths/packageRoot.ts';

/**
 * Where a sidecar running compiled (dist/) keeps its TypeScript user modules compiled
 * (src/projections/loader/compileUserModule.ts): STRANGLER_CACHE_DIR/modules, else
 * node_modules/.cache/strangler-sidecar/modules in the package. A read-only directory is not an
 * error: the modules are then compiled at each start.
 */
export function userModuleCacheDir(env: Record<string, string | undefined> = process.env): string {
  if (env.STRANGLER_CACHE_DIR) return path.resolve(env.STRANGLER_CACHE_DIR, 'modules');
  return path.join(PACKAGE_ROOT, 'node_modules', '.cache', 'strangler-sidecar', 'modules');
}
