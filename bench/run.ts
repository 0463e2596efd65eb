/**
 * `npm run bench` runs every benchmark; `npm run bench -- NAME` runs one and writes
 * bench/results/NAME.json. Each prints its figures with a baseline measured in the same run.
 */
const BENCHES: Record<string, () => Promise<{ run: () => Promise<unknown> }>> = {
  append: () => import('./append.ts'),
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
for (const name of names) {
  const mod = await BENCHES[name]!();
  await mod.run();
}
