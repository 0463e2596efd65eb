import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * A TypeScript user module (projection or read handler module) compiled for a sidecar that runs
 * compiled JavaScript (dist/), without a module loader hook: esbuild (what tsx uses) bundles the
 * module with the files it imports by relative path into one ES module, and every package it
 * imports (`strangler-sidecar/projections`, the user's own dependencies) is resolved from the
 * module's directory at build time and imported by absolute URL, so the output runs from
 * anywhere. A module-hooks thread (module.register) would cost every pod ~13 MB and slow every
 * later import down; tsx's loader, more.
 *
 * The output and a manifest of its inputs (path, size, mtime, sha256) are kept in `cacheDir`:
 * a restart that finds every input unchanged imports the output without loading esbuild.
 *
 * Semantics to know: `import.meta.url`, `import.meta.dirname` and `import.meta.filename` in the
 * module's files keep their source values; a file imported by two spec-named modules is bundled
 * into each (module-level state is not shared between them); `require()` is not available in a
 * bundled `.ts` module (a `.cts` or `.js` one keeps it).
 */

interface Input {
  file: string;
  size: number;
  mtimeMs: number;
  sha256: string;
}
interface Manifest {
  version: string;
  entry: string;
  inputs: Input[];
  output: string;
}

// Bump when the build's options change: an output of the old options is not reused.
const VERSION = 'bundle-esm-node20-2';
const SELF = /^strangler-sidecar(\/|$)/;
const IMPORT_META = /\bimport\.meta\.(url|dirname|filename)\b/g;

let stopTimer: NodeJS.Timeout | undefined;

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

function unchanged(input: Input): boolean {
  try {
    const st = statSync(input.file);
    if (st.size !== input.size) return false;
    if (st.mtimeMs === input.mtimeMs) return true;
    return sha256(readFileSync(input.file)) === input.sha256;
  } catch {
    return false;
  }
}

function cached(manifestFile: string, entry: string): string | undefined {
  try {
    const m = JSON.parse(readFileSync(manifestFile, 'utf8')) as Manifest;
    if (m.version !== VERSION || m.entry !== entry || !m.inputs.every(unchanged)) return undefined;
    statSync(m.output);
    return m.output;
  } catch {
    return undefined;
  }
}

function resolveSelf(specifier: string, fromDir: string, selfPackageRoot: string): string {
  try {
    return createRequire(path.join(fromDir, 'index.js')).resolve(specifier);
  } catch {
    return createRequire(path.join(selfPackageRoot, 'package.json')).resolve(specifier);
  }
}

export interface CompileOptions {
  cacheDir: string;
  /** Where `strangler-sidecar` resolves from when the module's directory has no such package. */
  selfPackageRoot: string;
}

/** The URL to import for `file` (a `.ts` or `.mts` module): a cached output, or one built now. */
export async function compileUserModule(file: string, opts: CompileOptions): Promise<string> {
  const entry = path.resolve(file);
  const manifestFile = path.join(opts.cacheDir, `${sha256(`${VERSION}\0${entry}`).slice(0, 32)}.json`);
  const hit = cached(manifestFile, entry);
  if (hit) return pathToFileURL(hit).href;

  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    write: false,
    metafile: true,
    sourcemap: 'inline',
    logLevel: 'silent',
    absWorkingDir: path.dirname(entry),
    plugins: [
      {
        name: 'strangler-user-module',
        setup(build) {
          build.onResolve({ filter: /.*/ }, async (args) => {
            if (args.pluginData === 'inner' || args.path.startsWith('.') || path.isAbsolute(args.path)) return undefined;
            if (isBuiltin(args.path)) return { path: args.path, external: true };
            // The sidecar's own API by Node's resolution (not a tsconfig `paths` entry that points
            // at its TypeScript sources): the package installed next to the module, else this one.
            if (SELF.test(args.path))
              return { path: pathToFileURL(resolveSelf(args.path, args.resolveDir, opts.selfPackageRoot)).href, external: true };
            const r = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: 'inner' });
            if (r.errors.length) return { errors: r.errors };
            // A `paths` alias to the user's own TypeScript is bundled like a relative import.
            if (/\.[mc]?tsx?$/.test(r.path) && !r.path.includes(`${path.sep}node_modules${path.sep}`)) return { path: r.path };
            return { path: pathToFileURL(r.path).href, external: true };
          });
          build.onLoad({ filter: /\.m?ts$/ }, (args) => {
            const source = readFileSync(args.path, 'utf8');
            const values = { url: pathToFileURL(args.path).href, dirname: path.dirname(args.path), filename: args.path };
            return {
              contents: source.replace(IMPORT_META, (_, k: keyof typeof values) => JSON.stringify(values[k])),
              loader: 'ts',
            };
          });
        },
      },
    ],
  });
  // esbuild answers from a service process of its own; stop it once the modules are compiled
  // rather than keep it (and its memory) for the sidecar's lifetime.
  clearTimeout(stopTimer);
  stopTimer = setTimeout(() => void esbuild.stop(), 2000).unref();
  const code = result.outputFiles[0]!.text;
  const inputs = Object.keys(result.metafile.inputs)
    .map((f) => path.resolve(path.dirname(entry), f))
    .map((f): Input => {
      const st = statSync(f);
      return { file: f, size: st.size, mtimeMs: st.mtimeMs, sha256: sha256(readFileSync(f)) };
    });
  const output = path.join(opts.cacheDir, `${path.basename(entry).replace(/\.m?ts$/, '')}-${sha256(code).slice(0, 16)}.mjs`);
  try {
    mkdirSync(opts.cacheDir, { recursive: true });
    writeFileSync(output, code);
    const manifest: Manifest = { version: VERSION, entry, inputs, output };
    const tmp = `${manifestFile}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(manifest));
    renameSync(tmp, manifestFile);
    return pathToFileURL(output).href;
  } catch {
    // A read-only cache directory: import the code itself (compiled again at the next start).
    return `data:text/javascript;base64,${Buffer.from(code).toString('base64')}`;
  }
}
