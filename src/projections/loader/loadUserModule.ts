import { register } from 'node:module';
import { pathToFileURL } from 'node:url';
import { PACKAGE_JSON, PACKAGE_ROOT } from '../../paths/packageRoot.ts';
import { userModuleCacheDir } from '../../config/userModuleCache.ts';
import { compileUserModule } from './compileUserModule.ts';

let registered = false;

/**
 * Running as TypeScript (from src/, through tsx or vitest): whatever runs this module also
 * compiles user modules. Running compiled (dist/): ./compileUserModule.ts does (and ./hooks.mjs
 * for a `.ts` file a `.js` user module imports).
 */
const SIDECAR_FROM_SOURCE = import.meta.url.endsWith('.ts');

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
