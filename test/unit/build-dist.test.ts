import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// `npm run build` in a copy of the package (its own dist/, node_modules linked), then its bin:
// it runs dist/ while dist is fresh, the sources through tsx when they changed, and a sidecar
// running dist compiles the sample's TypeScript modules without tsx.
const ROOT = path.resolve(import.meta.dirname, '../..');
const COPY = ['bin', 'scripts', 'src', 'examples', 'migrations', 'config', 'package.json', 'tsconfig.json', 'tsconfig.build.json'];
const MARK = 'BUILT-DIST-MARKER';

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'strangler-build-'));
  for (const entry of COPY)
    if (existsSync(path.join(ROOT, entry))) cpSync(path.join(ROOT, entry), path.join(dir, entry), { recursive: true });
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  await run('npm', ['run', 'build']);
}, 240_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(cmd: string, args: string[], env: Record<string, string> = {}) {
  const { stdout, stderr } = await promisify(execFile)(cmd, args, { cwd: dir, timeout: 120_000, env: { ...process.env, ...env } });
  return { out: stdout, err: stderr };
}
const strangler = (args: string[], env: Record<string, string> = {}) =>
  run(process.execPath, [path.join(dir, 'bin/strangler.mjs'), ...args], { STRANGLER_CACHE_DIR: path.join(dir, 'cache'), ...env });

describe('npm run build → dist/, run by bin/strangler.mjs while fresh', () => {
  it('writes dist/ with the compiled sources, the assets and build.json', () => {
    const info = JSON.parse(readFileSync(path.join(dir, 'dist/build.json'), 'utf8')) as { files: string[]; hash: string };
    expect(info.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(info.files).toContain('src/cli/main.ts');
    expect(existsSync(path.join(dir, 'dist/src/cli/main.js'))).toBe(true);
    expect(existsSync(path.join(dir, 'dist/bundle/cli/main.js'))).toBe(true);
    expect(existsSync(path.join(dir, 'dist/src/projections/loader/hooks.mjs'))).toBe(true);
    expect(existsSync(path.join(dir, 'dist/examples/legacy-orders/strangler.yaml'))).toBe(true);
    // Relative imports rewritten from .ts to .js: dist runs without tsx.
    expect(readFileSync(path.join(dir, 'dist/src/cli/main.js'), 'utf8')).not.toMatch(/from '\.[^']*\.ts'/);
  });

  it('runs dist/ (a mark put in the compiled usage shows), and the sources with STRANGLER_FROM_SOURCE=1', async () => {
    // The bin runs the bundle: the chunk that holds the usage text.
    const bundle = path.join(dir, 'dist/bundle');
    const usage = readdirSync(bundle, { recursive: true, encoding: 'utf8' })
      .map((f) => path.join(bundle, f))
      .filter((f) => f.endsWith('.js') && readFileSync(f, 'utf8').includes('the one-command demo'));
    expect(usage).toHaveLength(1);
    writeFileSync(usage[0]!, readFileSync(usage[0]!, 'utf8').replace('the one-command demo', `the one-command demo ${MARK}`));
    expect((await strangler(['--help'])).out).toContain(MARK);
    const fromSource = await strangler(['--help'], { STRANGLER_FROM_SOURCE: '1' });
    expect(fromSource.out).toContain('the one-command demo');
    expect(fromSource.out).not.toContain(MARK);
  });

  it('answers config check on the sample from dist/', async () => {
    const r = await strangler(['config', 'check', '--config', 'examples/legacy-orders/strangler.yaml']);
    expect(r.out).toMatch(/^# configuration is valid/);
    expect(r.out).toContain(path.join(dir, 'examples/legacy-orders/projections/orders.ts'));
  });

  it('loads the sample projection module from dist without tsx, compiled once into the cache', async () => {
    const load = () =>
      run(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `const { loadProjections } = await import('./dist/src/projections/registry.js');
           const [p] = await loadProjections({ orders: { projection: ${JSON.stringify(path.join(dir, 'examples/legacy-orders/projections/orders.ts'))} } });
           console.log(p.module.name, p.module.version);`,
        ],
        { STRANGLER_CACHE_DIR: path.join(dir, 'cache') },
      );
    expect((await load()).out.trim()).toMatch(/^orders \d+$/);
    const cached = readdirSync(path.join(dir, 'cache/modules'));
    expect(cached.filter((f) => f.endsWith('.mjs'))).toHaveLength(1);
    expect((await load()).out.trim()).toMatch(/^orders \d+/);
    expect(readdirSync(path.join(dir, 'cache/modules'))).toEqual(cached);
    // A changed input (a file the module imports) is compiled again.
    const cents = path.join(dir, 'examples/legacy-orders/projections/orders/cents.ts');
    const text = readFileSync(cents, 'utf8');
    writeFileSync(cents, text + '\n// changed\n');
    expect((await load()).out.trim()).toMatch(/^orders \d+/);
    expect(readdirSync(path.join(dir, 'cache/modules')).filter((f) => f.endsWith('.mjs'))).toHaveLength(2);
    writeFileSync(cents, text); // an input of the build too: as it was, for the tests after this one
  });

  it('runs the sources once one changed since the build (dist/ stale), and dist/ again once they match the build', async () => {
    const src = path.join(dir, 'src/cli/usage.ts');
    const before = readFileSync(src, 'utf8');
    writeFileSync(src, before.replace('the one-command demo', 'the one-command SOURCE demo'));
    const stale = await strangler(['--help']);
    expect(stale.out).toContain('the one-command SOURCE demo');
    expect(stale.err).toBe('');
    writeFileSync(src, before);
    expect((await strangler(['--help'])).out).toContain(MARK);
  });
});
