import { register } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PACKAGE_JSON, PACKAGE_ROOT } from '../../paths/packageRoot.ts';
import { compileUserModule } from './compileUserModule.ts';

let registered = false;

/**
 * Running as TypeScript (from src/, through tsx or vitest): whatever runs this module also
 * compiles user modules. Running compiled (dist/): ./hooks.mjs compiles them.
 */
const SIDECAR_FROM_SOURCE = import.meta.url.endsWith('.ts');

/**
 * Where compiled user modules are kept: STRANGLER_CACHE_DIR, else node_modules/.cache in the
 * package (a read-only image falls back to compiling at each start; see ./hooks.mjs).
 */
export function userModuleCacheDir(env: Record<string, string | undefined> = process.env): string {
  if (env.STRANGLER_CACHE_DIR) return path.resolve(env.STRANGLER_CACHE_DIR, 'modules');
  return path.join(PACKAGE_ROOT, 'node_modules', '.cache', 'strangler-sidecar', 'modules');
}

/**
 * Imports a user module (a projection or read handler module file) by absolute path: `.ts`,
 * `.mts` or `.js`, whatever its nearest package.json says, and with `strangler-sidecar`
 * importable from any directory. A sidecar running compiled (dist/) compiles a `.ts` or `.mts`
 * module with esbuild into a cached bundle (./compileUserModule.ts) and imports that: no module
 * hooks. Otherwise (`.js`, `.cjs`, `.cts`, or the sidecar running from source) the hooks of
 * ./hooks.mjs are registered, once for the whole process; they change nothing for the
 * sidecar's own modules.
 */
export async function loadUserModule(file: string): Promise<unknown> {
  if (!SIDECAR_FROM_SOURCE && /\.m?ts$/.test(file)) {
    const url = await compileUserModule(file, { cacheDir: userModuleCacheDir(), selfPackageRoot: PACKAGE_ROOT });
    return commonJsInterop((await import(url)) as Record<string, unknown>);
  }
  if (!registered) {
    registered = true;
    register(new URL('./hooks.mjs', import.meta.url), {
      data: {
        selfPackageJson: pathToFileURL(PACKAGE_JSON).href,
        sourceMode: SIDECAR_FROM_SOURCE,
        compileTypeScript: !SIDECAR_FROM_SOURCE,
        cacheDir: userModuleCacheDir(),
      },
    });
  }
  const exports = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  return commonJsInterop(exports);
}

/**
 * A CommonJS module (`.js` under a commonjs package.json, or a `.cts`) arrives as
 * `{ default: module.exports }`; when module.exports itself carries `default` (what
 * TypeScript and esbuild emit for `export default`), that object is the module's exports.
 */
export function commonJsInterop(exports: Record<string, unknown>): unknown {
  const inner = exports.default;
  if (inner && typeof inner === 'object' && 'default' in inner && !('apply' in inner)) return inner;
  return exports;
}
