// Is dist/ (what `npm run build` writes) the compiled form of the sources next to it?
// bin/strangler.mjs runs dist/ when it is, and the TypeScript sources through tsx when it is
// not (never built, or a source changed since): a stale dist is never run.
//
// dist/build.json lists the inputs the build read and a hash over their contents. The check
// at start-up is cheap: stat every input file; when none is newer than the build and the list
// is the same, dist is fresh. Otherwise (a checkout touched mtimes, say) the contents are hashed
// and compared with the build's hash. Without the sources to fall back on (an image holding
// dist/, package.json and node_modules, no src/) dist is what there is.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const BUILD_INFO = 'dist/build.json';
/** What bin/strangler.mjs runs through tsx when dist/ is not fresh. */
export const SOURCE_ENTRY = 'src/cli/main.ts';

/** The input files under the given roots (files or directories), sorted, relative to root. */
export function listInputs(root, inputs) {
  const out = [];
  const walk = (rel) => {
    const abs = path.join(root, rel);
    let st;
    try {
      st = statSync(abs);
    } catch {
      return;
    }
    if (st.isDirectory()) {
      for (const name of readdirSync(abs)) walk(path.posix.join(rel, name));
    } else if (st.isFile()) out.push(rel);
  };
  for (const input of inputs) walk(input);
  return out.sort();
}

/** sha256 over the files' names and contents, in order. */
export function hashInputs(root, files) {
  const h = createHash('sha256');
  for (const f of files)
    h.update(`${f}\0`)
      .update(readFileSync(path.join(root, f)))
      .update('\0');
  return h.digest('hex');
}

/**
 * { state: 'fresh' | 'stale' | 'missing', reason } for the build in `root` (default: this
 * package). 'fresh' means dist/ may be run.
 */
export function distState(root = ROOT) {
  const infoFile = path.join(root, BUILD_INFO);
  let info;
  try {
    info = JSON.parse(readFileSync(infoFile, 'utf8'));
  } catch {
    return { state: 'missing', reason: `no ${BUILD_INFO} (run npm run build)` };
  }
  if (!Array.isArray(info.inputs) || typeof info.hash !== 'string' || typeof info.builtAtMs !== 'number')
    return { state: 'stale', reason: `${BUILD_INFO} is not one this version writes` };
  if (!existsSync(path.join(root, info.entry ?? 'dist/bundle/cli/main.js')))
    return { state: 'missing', reason: 'dist/ has no entry point' };
  // The fallback runs src/cli/main.ts: where it is absent, other inputs that ship (package.json
  // in the image) do not make dist/ stale.
  if (!existsSync(path.join(root, SOURCE_ENTRY))) return { state: 'fresh', reason: 'no sources next to dist/' };
  const files = listInputs(root, info.inputs);
  const sameList = files.length === info.files?.length && files.every((f, i) => f === info.files[i]);
  if (sameList && files.every((f) => statSync(path.join(root, f)).mtimeMs <= info.builtAtMs))
    return { state: 'fresh', reason: 'no source changed since the build' };
  if (sameList && hashInputs(root, files) === info.hash) return { state: 'fresh', reason: 'sources touched but unchanged' };
  return { state: 'stale', reason: sameList ? 'a source changed since the build' : 'sources were added or removed since the build' };
}
