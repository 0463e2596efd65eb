#!/usr/bin/env node
// The `strangler` command. It runs the compiled JavaScript in dist/ (`npm run build`) when dist
// is fresh; otherwise, and with STRANGLER_FROM_SOURCE=1, the TypeScript sources through tsx's
// loader, so the bin works right after `npm ci` with no build step (and never runs a stale
// build). See bin/distState.mjs.
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
  ({ main } = await import('../dist/src/cli/main.js'));
}
const code = await main(process.argv.slice(2));
process.exitCode = code;
// Everything should be closed by now; if a handle still holds the loop (a failed start-up
// half done), exit anyway rather than hang. Unref'd: it never delays a clean exit.
setTimeout(() => process.exit(code), 3000).unref();
