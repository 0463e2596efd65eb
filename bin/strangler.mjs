#!/usr/bin/env node
// The `strangler` command. Sources are TypeScript run through tsx's loader, so the
// bin works right after `npm ci` with no build step.
import { register } from 'tsx/esm/api';
register();
// `strangler reconcile | head`: a reader that stops early is not an error worth a stack trace.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});
const { main } = await import('../src/cli/main.ts');
const code = await main(process.argv.slice(2));
process.exitCode = code;
// Everything should be closed by now; if a handle still holds the loop (a failed start-up
// half done), exit anyway rather than hang. Unref'd: it never delays a clean exit.
setTimeout(() => process.exit(code), 3000).unref();
