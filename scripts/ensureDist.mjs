// Builds dist/ (scripts/build.mjs) when bin/distState.mjs finds it missing or stale. Used where
// something is about to run the build: npm test's pretest (the modules the tests load import
// `strangler-sidecar/…`, which resolves to dist/) and the benches that start a sidecar.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { distState } from '../bin/distState.mjs';

/** dist/'s state after building it when needed; `built` says whether a build ran. Throws when the build fails. */
export function ensureDist(label) {
  const before = distState();
  if (before.state === 'fresh') return { ...before, built: false };
  console.log(`${label}: dist/ is ${before.state} (${before.reason}): npm run build`);
  const run = spawnSync(process.execPath, [path.join(import.meta.dirname, 'build.mjs')], { stdio: 'inherit' });
  if (run.status !== 0) throw new Error(`${label}: npm run build failed (exit ${run.status ?? run.signal})`);
  return { ...distState(), built: true };
}
