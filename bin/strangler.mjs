#!/usr/bin/env -S node --max-semi-space-size=8
// The `strangler` command. It runs the compiled JavaScript in dist/ (`npm run build`) when dist
// is fresh; otherwise, and with STRANGLER_FROM_SOURCE=1, the TypeScript sources through tsx's
// loader, so the bin works right after `npm ci` with no build step (and never runs a stale
// build). See bin/distState.mjs.
//
// --max-semi-space-size=8 (MB; V8's default on 64-bit grows it to 16): the young generation is
// what a sidecar's resident memory grows by first under load. Capped at 8 MB it holds ~9 MB less
// than V8's default under load (bench/footprint: loaded 108 against 117 MB; idle 78.7 either
// way, since the bundle no longer grows it while loading). It was 2 MB until 2026-12-03, which
// held ~6 MB less again under load and cost CPU: a catch-up keeps a batch's events alive until
// it commits, so with 2 MB semi-spaces most of what a scavenge saw survived it (~43 % of the
// catch-up's CPU in GC); ~58,000 events/s at 8 MB against ~43,000-50,000 at 2 (bench/projection
// runs with this flag: package.json "bench"). The passthrough's CPU per request fell ~5 % too.
// It applies where the command is run as `strangler …` or `bin/strangler.mjs …` (the image,
// npx); `node bin/strangler.mjs` runs with V8's defaults, and NODE_OPTIONS can set either way
// (for a large rebuild, NODE_OPTIONS=--max-semi-space-size=64 is faster again, for more memory).
// No --max-old-space-size: it would not lower the resident set, only turn growth into an
// out-of-memory crash earlier than the pod's memory limit does.
import { distState } from './distState.mjs';

// `strangler reconcile | head`: a reader that stops early is not an error worth a stack trace.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});
const fromSource = process.env.STRANGLER_FROM_SOURCE === '1' || distState().state !== 'fresh';
let main;
if (fromSource) {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
} else {
  ({ main } = await import('../dist/bundle/cli/main.js'));
}
const code = await main(process.argv.slice(2));
process.exitCode = code;
// Everything should be closed by now; if a handle still holds the loop (a failed start-up
// half done), exit anyway rather than hang. Unref'd: it never delays a clean exit.
setTimeout(() => process.exit(code), 3000).unref();
