// Module hooks for user modules (projection modules; read handlers next), registered by
// loadUserModules.ts in the sidecar's process, after tsx's own hooks (so these run first).
//
// 1. TypeScript modules are ES modules wherever they sit: a `.ts` file under a
//    `"type": "commonjs"` package.json would otherwise be compiled to CommonJS, and its
//    `import … from 'strangler-sidecar/projections'` would become a require() of the
//    sidecar's ES modules (`Cannot require() ES Module … in a cycle`). `.cts` stays CommonJS.
// 2. `strangler-sidecar` and `strangler-sidecar/*` resolve as usual first (an installed
//    package, or the package's self-reference inside its own tree); where nothing provides
//    it (a module in a directory of its own), they resolve to the running sidecar's package.
let selfParent;

export function initialize(data) {
  selfParent = data?.selfPackageJson;
}

const TS = /\.m?ts$/;
const SELF = /^strangler-sidecar(\/|$)/;

export async function resolve(specifier, context, next) {
  let resolved;
  try {
    resolved = await next(specifier, context);
  } catch (err) {
    if (!selfParent || !SELF.test(specifier) || err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
    resolved = await next(specifier, { ...context, parentURL: selfParent });
  }
  if (resolved.url.startsWith('file:') && TS.test(new URL(resolved.url).pathname) && /^commonjs/.test(resolved.format ?? '')) {
    return { ...resolved, format: 'module' };
  }
  return resolved;
}
