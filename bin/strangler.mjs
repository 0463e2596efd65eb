#!/usr/bin/env -S node --max-semi-space-size=2
// The `strangler` command. It runs the compiled JavaScript in dist/ (`npm run build`) when dist
// is fresh; otherwise, and with STRANGLER_FROM_SOURCE=1, the TypeScript sources through tsx's
// loader, so the bin works right after `npm ci` with no build step (and never runs a stale
// build). See bin/distState.mjs.
//
// --max-semi-space-size=2 (MB; V8's default on 64-bit grows it to 16): the young generation is
// what a sidecar's resident memory grows by first, under load and already while it loads its
// modules; capped, it holds ~25 MB less in every pod for more frequent scavenges, each cheap
// (a sidecar's short-lived garbage is requests and buffers; bench/footprint measures both). It
// applies where the command is run as `strangler …` or `bin/strangler.mjs …` (the image, npx);
// `node bin/strangler.mjs` runs with V8's defaults, and NODE_OPTIONS can set either way.
// The price is catch-up speed: bench/projection (which runs with this flag, package.json "bench")
// catches up at ~39,000 events/s here against ~61,000 with 64 (MB) and ~45,000 with V8's default;
// for a large rebuild, NODE_OPTIONS=--max-semi-space-size=64 (about +23 MB under load).
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
