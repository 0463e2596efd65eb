// `npm run build`: compiles the TypeScript sources to dist/ (tsconfig.build.json: src/ and the
// demo's sample, relative imports rewritten from .ts to .js), copies the files that are not
// TypeScript (HTML, CSS, client JavaScript, templates, SQL, YAML) next to them, bundles what the
// bin and the package's API entry points run into dist/bundle/, and writes dist/build.json: the
// inputs, their hash and the commit, which bin/distState.mjs compares with the sources to decide
// whether dist/ may run.
//
// The bundle (esbuild, ES modules, one chunk per lazily imported command): a sidecar that loads
// ~250 files of its own and a few hundred of its dependencies' spends a third of its start-up CPU
// resolving and compiling them one by one, and ~12 MB more resident memory (bench/footprint).
// The entry points share chunks, so a user module importing `strangler-sidecar/projections`
// (dist/bundle/api/projections.js) gets the very classes and constants the bundled sidecar uses.
// `import.meta.url` (and dirname, filename) in each of our modules is the URL of its per-file
// build under dist/src/, next to which the assets are copied: `new URL('./page.html',
// import.meta.url)` finds the same file bundled or not. Left out of the bundle: the drivers
// loaded only when configured (PGlite's WebAssembly files, mysql2), pino (its transports run
// its own files in worker threads), esbuild (a native binary) and iconv-lite (body-parser loads
// its index at start-up, but its ~1 MB of code-page tables only when a body in such a charset
// comes: bundled, their text sat in every sidecar's heap).
//
// Whitespace and syntax are minified, names are not (stack traces keep the function names):
// V8 keeps each script's source in the heap, so a sidecar idles ~5 MB smaller (bench/footprint:
// heap used 22.9 → 17.4 MB, idle_rss_mb 81.3 → 79.2; with iconv-lite left out, 77.3).
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { BUILD_INFO, hashInputs, listInputs, ROOT } from '../bin/distState.mjs';

/** What dist/ is built from: tsc compiles the .ts reachable from these, the rest is copied. */
// The build's own script and the dependencies' versions too: the bundle holds the dependencies.
const INPUTS = [
  'src',
  'examples/demo.ts',
  'examples/legacy-orders',
  'tsconfig.build.json',
  'tsconfig.json',
  'scripts/build.mjs',
  'package.json',
  'package-lock.json',
];
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
const BUNDLE_EXTERNAL = ['@electric-sql/pglite', 'mysql2', 'mysql2/*', 'pg-native', 'pino', 'thread-stream', 'esbuild', 'iconv-lite'];
const IMPORT_META = /\bimport\.meta\.(url|dirname|filename)\b/g;
const esbuild = await import('esbuild');
await esbuild.build({
  absWorkingDir: ROOT,
  entryPoints: ['dist/src/cli/main.js', 'dist/src/api/index.js', 'dist/src/api/projections.js', 'dist/src/api/reads.js'],
  outbase: 'dist/src',
  outdir: 'dist/bundle',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minifyWhitespace: true,
  minifySyntax: true,
  external: BUNDLE_EXTERNAL,
  // CommonJS dependencies bundled into ES modules require Node's built-ins.
  banner: { js: "import { createRequire as __stranglerRequire } from 'node:module'; const require = __stranglerRequire(import.meta.url);" },
  logLevel: 'warning',
  plugins: [
    {
      name: 'per-file-import-meta',
      setup(build) {
        build.onLoad({ filter: /\.js$/ }, (args) => {
          if (!args.path.startsWith(path.join(ROOT, 'dist') + path.sep)) return undefined; // dependencies: as they are
          const source = readFileSync(args.path, 'utf8');
          const values = { url: pathToFileURL(args.path).href, dirname: path.dirname(args.path), filename: args.path };
          return { contents: source.replace(IMPORT_META, (_, k) => JSON.stringify(values[k])), loader: 'js' };
        });
      },
    },
  ],
});

const git = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
const dirty = spawnSync('git', ['status', '--porcelain', '--', ...INPUTS], { cwd: ROOT, encoding: 'utf8' });
const info = {
  entry: 'dist/bundle/cli/main.js',
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
