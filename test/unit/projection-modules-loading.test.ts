import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const RUN_TS = path.join(ROOT, 'bin/run-ts.mjs');
const FIXTURE = path.join(ROOT, 'test/fixtures/userModules/loadProjection.ts');
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const esm = (name: string) => `import { defineProjection } from 'strangler-sidecar/projections';
const name: string = '${name}';
export default defineProjection({ name, version: 1, tables: ['t'], handles: ['E'], ddl: () => '', apply: async () => {} });
`;
const cjs = (name: string) => `const { defineProjection } = require('strangler-sidecar/projections');
module.exports = { default: defineProjection({ name: '${name}', version: 1, tables: ['t'], handles: ['E'], ddl: () => '', apply: async () => {} }) };
`;

/** A directory outside this repo with the given package.json type, optionally with the package installed. */
function project(type: 'commonjs' | 'module', installed: boolean): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'strangler-modules-'));
  dirs.push(dir);
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'my-projections', type }));
  if (installed) {
    mkdirSync(path.join(dir, 'node_modules'));
    symlinkSync(ROOT, path.join(dir, 'node_modules/strangler-sidecar'), 'dir');
  }
  return dir;
}

/** Loads the files in a fresh process through the sidecar's loader; file → 'ok NAME' or 'FAIL message'. */
async function load(...files: string[]): Promise<Record<string, string>> {
  const { stdout } = await promisify(execFile)(process.execPath, [RUN_TS, FIXTURE, ...files], { cwd: ROOT, timeout: 60_000 });
  return Object.fromEntries(
    stdout
      .trim()
      .split('\n')
      .map((l) => {
        const [verdict, file, ...rest] = l.split(' ');
        return [file!, `${verdict} ${rest.join(' ')}`];
      }),
  );
}

describe('projection modules load from any directory, whatever its package.json says', () => {
  it('a .ts module next to a CommonJS package.json that imports strangler-sidecar/projections (package installed)', async () => {
    const dir = project('commonjs', true);
    writeFileSync(path.join(dir, 'carts.ts'), esm('carts'));
    writeFileSync(path.join(dir, 'wishlists.mts'), esm('wishlists'));
    writeFileSync(path.join(dir, 'legacy.js'), cjs('legacy'));
    const r = await load(path.join(dir, 'carts.ts'), path.join(dir, 'wishlists.mts'), path.join(dir, 'legacy.js'));
    expect(r).toEqual({
      [path.join(dir, 'carts.ts')]: 'ok carts',
      [path.join(dir, 'wishlists.mts')]: 'ok wishlists',
      [path.join(dir, 'legacy.js')]: 'ok legacy',
    });
  }, 90_000);

  it('ES modules in a directory where nothing provides the package get the running sidecar', async () => {
    const cjsDir = project('commonjs', false);
    const esmDir = project('module', false);
    writeFileSync(path.join(cjsDir, 'carts.ts'), esm('carts'));
    writeFileSync(path.join(esmDir, 'carts.js'), esm('carts').replace(': string', ''));
    const r = await load(path.join(cjsDir, 'carts.ts'), path.join(esmDir, 'carts.js'));
    expect(r).toEqual({ [path.join(cjsDir, 'carts.ts')]: 'ok carts', [path.join(esmDir, 'carts.js')]: 'ok carts' });
  }, 90_000);

  it('a module that is not a projection is refused with the missing fields named', async () => {
    const dir = project('commonjs', true);
    writeFileSync(path.join(dir, 'bad.ts'), `export default { name: 'bad', version: 1 };\n`);
    const r = await load(path.join(dir, 'bad.ts'));
    expect(r[path.join(dir, 'bad.ts')]).toMatch(/^FAIL .*tables must be an array.*apply must be a function/);
  }, 90_000);
});
