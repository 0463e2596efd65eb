/**
 * `npm run bench` runs every benchmark; `npm run bench -- NAME` runs one and writes
 * bench/results/NAME.json. Each prints its figures with a baseline measured in the same run.
 *
 * Several benchmarks run one after another, each in a process of its own: a figure such as
 * bench/reconcile's peak RSS is the process's high-water mark, and an earlier benchmark in the
 * same process (200,000 events held by bench/projection) would be counted in it.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { sidecarNodeFlags } from './lib.ts';

const BENCHES: Record<string, () => Promise<{ run: () => Promise<unknown> }>> = {
  append: () => import('./append.ts'),
  canary: () => import('./canary.ts'),
  footprint: () => import('./footprint.ts'),
  projection: () => import('./projection.ts'),
  proxy: () => import('./proxy.ts'),
  reconcile: () => import('./reconcile.ts'),
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = wanted.length ? wanted : Object.keys(BENCHES);
const unknown = names.filter((n) => !BENCHES[n]);
if (unknown.length) {
  console.error(`Unknown benchmark ${unknown.join(', ')}. Available: ${Object.keys(BENCHES).join(', ')}. Example: npm run bench -- append`);
  process.exit(2);
}
// In-process figures (bench/projection's catch-up, bench/append) are the shipped configuration's
// only when this process runs with the bin's V8 flags: package.json's "bench" script repeats them.
const missing = sidecarNodeFlags().filter((f) => !process.execArgv.includes(f));
if (missing.length) {
  console.error(
    `bench: node runs without the bin's flag(s) ${missing.join(' ')} (bin/strangler.mjs's #! line), so in-process figures would not be the shipped configuration's. Run it as npm run bench -- NAME, and keep package.json's "bench" script's flags equal to the bin's.`,
  );
  process.exit(2);
}
if (names.length === 1) {
  const mod = await BENCHES[names[0]!]!();
  await mod.run();
} else {
  const runTs = path.resolve(import.meta.dirname, '../bin/run-ts.mjs');
  for (const name of names) {
    // Each with this process's node flags (the bin's V8 flags, --expose-gc, the source condition).
    const r = spawnSync(process.execPath, [...process.execArgv, runTs, path.resolve(import.meta.dirname, 'run.ts'), name], {
      stdio: 'inherit',
    });
    if (r.status !== 0) {
      console.error(`bench/${name} failed (exit ${r.status ?? r.signal}); the others still run.`);
      process.exitCode = 1;
    }
  }
}
