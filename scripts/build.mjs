// `npm run build`: compiles the TypeScript sources to dist/ (tsconfig.build.json: src/ and the
// demo's sample, relative imports rewritten from .ts to .js), copies the files that are not
// TypeScript (HTML, CSS, client JavaScript, templates, SQL, YAML) next to them, and writes
// dist/build.json: the inputs, their hash and the commit, which bin/distState.mjs compares with
// the sources to decide whether dist/ may run.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BUILD_INFO, hashInputs, listInputs, ROOT } from '../bin/distState.mjs';

/** What dist/ is built from: tsc compiles the .ts reachable from these, the rest is copied. */
const INPUTS = ['src', 'examples/demo.ts', 'examples/legacy-orders', 'tsconfig.build.json', 'tsconfig.json'];
/**
 * Copied as they are: what is not compiled, and the sample's own TypeScript modules (its spec
 * names ./projections/orders.ts and ./reads/getOrder.ts, which the sidecar loads as user modules).
 */
const COPY = ['src', 'examples/legacy-orders'];
const COMPILED = /(?<!\.d)\.ts$/;

const started = Date.now();
const files = listInputs(ROOT, INPUTS);
// Taken before the sources are read (started): a source saved during the build counts as newer.
const hash = hashInputs(ROOT, files);

rmSync(path.join(ROOT, 'dist'), { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
  cwd: ROOT,
  stdio: 'inherit',
});
if (tsc.status !== 0) {
  console.error('build: tsc failed; dist/ left without build.json (the bin runs from source)');
  process.exit(1);
}
let copied = 0;
for (const f of listInputs(ROOT, COPY)) {
  const sample = f.startsWith('examples/');
  if (!sample && COMPILED.test(f)) continue;
  const to = path.join(ROOT, 'dist', f);
  mkdirSync(path.dirname(to), { recursive: true });
  copyFileSync(path.join(ROOT, f), to);
  copied++;
}
const git = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
const dirty = spawnSync('git', ['status', '--porcelain', '--', ...INPUTS], { cwd: ROOT, encoding: 'utf8' });
const info = {
  entry: 'dist/src/cli/main.js',
  builtAt: new Date(started).toISOString(),
  builtAtMs: started,
  commit: git.status === 0 ? git.stdout.trim() : null,
  sourcesDirty: dirty.status === 0 ? dirty.stdout.trim() !== '' : null,
  inputs: INPUTS,
  files,
  hash,
};
writeFileSync(path.join(ROOT, BUILD_INFO), JSON.stringify(info, null, 2) + '\n');
console.log(
  `build: dist/ from ${files.length} source files (${copied} copied as they are) in ${((Date.now() - started) / 1000).toFixed(1)} s; ${BUILD_INFO} hash ${hash.slice(0, 12)}`,
);
