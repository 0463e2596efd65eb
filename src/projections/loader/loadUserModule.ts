import { register } from 'node:module';
import { pathToFileURL } from 'node:url';

let registered = false;

/**
 * Imports a user module (a projection module file) by absolute path: `.ts`, `.mts` or
 * `.js`, whatever its nearest package.json says, and with `strangler-sidecar` importable
 * from any directory (see ./hooks.mjs). The hooks apply to the whole process, once; they
 * change nothing for the sidecar's own modules.
 */
export async function loadUserModule(file: string): Promise<unknown> {
  if (!registered) {
    registered = true;
    register(new URL('./hooks.mjs', import.meta.url), {
      data: { selfPackageJson: new URL('../../../package.json', import.meta.url).href },
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
