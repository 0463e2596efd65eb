import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { distState, hashInputs, listInputs } from '../../bin/distState.mjs';

// bin/distState.mjs decides whether bin/strangler.mjs may run dist/: a tree of its own per
// test, with a build.json written the way scripts/build.mjs writes it.
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const INPUTS = ['src', 'examples/demo.ts', 'package.json'];
let root: string;

function write(rel: string, text: string, mtime?: Date): void {
  const file = path.join(root, rel);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  if (mtime) utimesSync(file, mtime, mtime);
}

/** What scripts/build.mjs records, built at `builtAt`. */
function build(builtAt: Date): void {
  const files = listInputs(root, INPUTS);
  write('dist/src/cli/main.js', 'export {};');
  write(
    'dist/build.json',
    JSON.stringify({ entry: 'dist/src/cli/main.js', builtAtMs: builtAt.getTime(), inputs: INPUTS, files, hash: hashInputs(root, files) }),
  );
}

const past = new Date(Date.now() - 60_000);
const built = new Date(Date.now() - 30_000);
const later = new Date(Date.now() - 10_000);

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'strangler-dist-state-'));
  dirs.push(root);
  write('src/cli/main.ts', 'export const a = 1;\n', past);
  write('src/admin/page.html', '<p>hi</p>\n', past);
  write('examples/demo.ts', 'export const b = 2;\n', past);
  write('package.json', '{"name":"x"}\n', past);
  write('test/not-an-input.ts', 'x', past);
});

describe('dist/ freshness (bin/distState.mjs)', () => {
  it('lists the inputs, files under directories and single files, sorted, nothing else', () => {
    expect(listInputs(root, INPUTS)).toEqual(['examples/demo.ts', 'package.json', 'src/admin/page.html', 'src/cli/main.ts']);
  });

  it('is missing without a build, and without the entry point the build names', () => {
    expect(distState(root).state).toBe('missing');
    build(built);
    rmSync(path.join(root, 'dist/src/cli/main.js'));
    expect(distState(root).state).toBe('missing');
  });

  it('is fresh right after the build, and when a source was touched but holds the same bytes', () => {
    build(built);
    expect(distState(root)).toEqual({ state: 'fresh', reason: 'no source changed since the build' });
    write('src/cli/main.ts', 'export const a = 1;\n', later);
    expect(distState(root)).toEqual({ state: 'fresh', reason: 'sources touched but unchanged' });
  });

  it('is stale when a source changed, even a non-TypeScript asset, even with an old mtime', () => {
    build(built);
    write('src/admin/page.html', '<p>changed</p>\n', later);
    expect(distState(root).state).toBe('stale');
    write('src/admin/page.html', '<p>hi</p>\n', later);
    expect(distState(root).state).toBe('fresh');
    write('src/cli/main.ts', 'export const a = 2;\n', later);
    expect(distState(root).state).toBe('stale');
  });

  it('is stale when a source was added or removed', () => {
    build(built);
    write('src/cli/extra.ts', 'export {};\n', past);
    expect(distState(root)).toEqual({ state: 'stale', reason: 'sources were added or removed since the build' });
    rmSync(path.join(root, 'src/cli/extra.ts'));
    expect(distState(root).state).toBe('fresh');
    rmSync(path.join(root, 'src/admin/page.html'));
    expect(distState(root).state).toBe('stale');
  });

  it('ignores files that are not inputs, and is fresh where no sources ship (an image with dist/ only)', () => {
    build(built);
    write('test/not-an-input.ts', 'changed', later);
    expect(distState(root).state).toBe('fresh');
    // The image's layout (Dockerfile): dist/, bin/, package.json, node_modules; no src/ or
    // examples/. package.json is an input of the build, and it ships, changed or not.
    rmSync(path.join(root, 'src'), { recursive: true });
    rmSync(path.join(root, 'examples'), { recursive: true });
    write('package.json', '{"name":"x","version":"2"}\n', later);
    expect(distState(root)).toEqual({ state: 'fresh', reason: 'no sources next to dist/' });
  });

  it('is stale with a build.json of another shape', () => {
    write('dist/src/cli/main.js', 'export {};');
    write('dist/build.json', JSON.stringify({ commit: 'abc' }));
    expect(distState(root).state).toBe('stale');
  });
});
