// Module hooks for user modules (projection modules, read handler modules), registered by
// loadUserModule.ts in the sidecar's process (after tsx's own hooks when the sidecar runs from
// source, so these run first).
//
// 1. TypeScript modules are ES modules wherever they sit: a `.ts` file under a
//    `"type": "commonjs"` package.json would otherwise be compiled to CommonJS, and its
//    `import … from 'strangler-sidecar/projections'` would become a require() of the
//    sidecar's ES modules (`Cannot require() ES Module … in a cycle`). `.cts` stays CommonJS.
// 2. `strangler-sidecar` and `strangler-sidecar/*` resolve as usual first (an installed
//    package, or the package's self-reference inside its own tree); where nothing provides
//    it (a module in a directory of its own), they resolve to the running sidecar's package.
//    A sidecar running from source resolves them with the `strangler-source` condition (to
//    src/, the modules it runs itself, so `instanceof StranglerError` holds across them).
// 3. When the sidecar runs compiled (dist/, no tsx), `.ts` and `.mts` user modules are compiled
//    here, one file at a time, with esbuild's transform (what tsx uses), and kept in a cache
//    keyed by the file's path and content: a restart reads the JavaScript back without loading
//    esbuild. This is what replaces tsx's whole loader in the sidecar's process.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let selfParent;
let sourceMode = false;
let compile = false;
let cacheDir;

export function initialize(data) {
  selfParent = data?.selfPackageJson;
  sourceMode = data?.sourceMode === true;
  compile = data?.compileTypeScript === true;
  cacheDir = data?.cacheDir;
}

const TS = /\.m?ts$/;
const SELF = /^strangler-sidecar(\/|$)/;

export async function resolve(specifier, context, next) {
  const self = SELF.test(specifier);
  const ctx = self && sourceMode ? { ...context, conditions: ['strangler-source', ...context.conditions] } : context;
  let resolved;
  try {
    resolved = await next(specifier, ctx);
  } catch (err) {
    if (!selfParent || !self || err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
    resolved = await next(specifier, { ...ctx, parentURL: selfParent });
  }
  if (resolved.url.startsWith('file:') && TS.test(new URL(resolved.url).pathname)) {
    if (compile) return { ...resolved, format: 'module' };
    if (/^commonjs/.test(resolved.format ?? '')) return { ...resolved, format: 'module' };
  }
  return resolved;
}

export async function load(url, context, next) {
  if (!compile || !url.startsWith('file:') || !TS.test(new URL(url).pathname)) return next(url, context);
  const file = fileURLToPath(url);
  return { format: 'module', source: await compiled(file, readFileSync(file, 'utf8')), shortCircuit: true };
}

// Bump when the transform's options change: cached output of the old options is not reused.
const TRANSFORM = 'esm-node20-inline-map-1';
let esbuild;
let stopTimer;

async function compiled(file, source) {
  const key = createHash('sha256').update(`${TRANSFORM}\0${file}\0`).update(source).digest('hex');
  const cached = cacheDir ? path.join(cacheDir, `${key}.mjs`) : undefined;
  if (cached) {
    try {
      return readFileSync(cached, 'utf8');
    } catch {
      // not compiled yet
    }
  }
  esbuild ??= await import('esbuild');
  clearTimeout(stopTimer);
  const { code } = await esbuild.transform(source, {
    loader: 'ts',
    format: 'esm',
    target: 'node20',
    sourcemap: 'inline',
    sourcefile: file,
  });
  // esbuild answers from a service process of its own; stop it once the modules are compiled
  // rather than keep it (and its memory) for the sidecar's lifetime.
  stopTimer = setTimeout(() => esbuild.stop(), 2000);
  stopTimer.unref?.();
  if (cached) {
    try {
      mkdirSync(cacheDir, { recursive: true });
      const tmp = `${cached}.${process.pid}.tmp`;
      writeFileSync(tmp, code);
      renameSync(tmp, cached);
    } catch {
      // a read-only cache directory: compile again next time
    }
  }
  return code;
}
