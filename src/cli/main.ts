import { parseArgs } from 'node:util';
import { StranglerError } from '../errors/StranglerError.ts';
import { runSelfCheck } from './selfcheck.ts';
import { runMigrate } from './migrate.ts';
import { runConfigCheck } from './configCheck.ts';
import { runStart, untilSignal } from './start.ts';
import { runDemo } from '../demo/runDemo.ts';
import { runProjections } from './projections.ts';
import { DOCTOR_USAGE, runDoctorCommand } from './doctor.ts';
import { RECONCILE_USAGE, runReconcileCommand } from './reconcile.ts';

export const USAGE = `strangler: a sidecar that strangles a legacy CRUD service into an event-sourced design

Usage:
  strangler demo [--data DIR | memory]   the one-command demo with embedded defaults (npm start); data in ./data/demo
  strangler start [--config FILE]        run the sidecar (default config/strangler.yaml)
  strangler selfcheck [--url URL]        exercise the event store (default: embedded, in memory)
  strangler migrate [--config FILE] [--url URL]
                                         apply event store migrations (under an advisory lock)
  strangler config check [--config FILE] validate a configuration file and print it, secrets redacted
  strangler projections run [--config FILE]
                                         run the projection runners in the foreground (until SIGTERM)
  strangler projections status [--json]  checkpoint, lag (events, ms), lease holder, failures, rebuilds
  strangler projections resume NAME      retry a paused projection's failing event
  strangler projections skip NAME        move the failing event to strangler_dead_letters, continue
  strangler projections rebuild NAME     rebuild into new tables while the old ones serve, then switch
${DOCTOR_USAGE}
${RECONCILE_USAGE}
  strangler help                         this text

Exit codes: 0 success, 1 failure, 2 bad configuration or usage.
`;

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  env: Record<string, string | undefined>;
}

const defaultIo: CliIo = {
  out: (l) => process.stdout.write(l + '\n'),
  err: (l) => process.stderr.write(l + '\n'),
  env: process.env,
};

/** Runs the CLI; returns the process exit code. Thin: parse, call, print. */
export async function main(argv: string[], io: CliIo = defaultIo): Promise<number> {
  const [command, ...rest] = argv;
  // doctor parses its own options (--json, --fail-on, …) and owns its exit codes (2 = error).
  if (command === 'doctor') return runDoctorCommand(rest, io);
  if (command === 'reconcile') return runReconcileCommand(rest, io);
  try {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: { config: { type: 'string', short: 'c' }, url: { type: 'string' }, json: { type: 'boolean' }, data: { type: 'string' } },
    });
    switch (command) {
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.out(USAGE);
        return command === undefined ? 2 : 0;
      case 'demo':
        return await runDemo({
          env: io.env,
          out: io.out,
          until: untilSignal(),
          ...((values.data ?? positionals[0]) ? { dataDir: values.data ?? positionals[0] } : {}),
        });
      case 'start':
        return await runStart({ ...(values.config ? { configFile: values.config } : {}), io });
      case 'selfcheck':
        return await runSelfCheck({ url: values.url ?? 'memory', out: io.out });
      case 'migrate':
        return await runMigrate({
          ...(values.config ? { configFile: values.config } : {}),
          ...(values.url ? { url: values.url } : {}),
          io,
        });
      case 'projections':
        return await runProjections({
          args: positionals,
          ...(values.config ? { configFile: values.config } : {}),
          ...(values.url ? { url: values.url } : {}),
          json: values.json ?? false,
          io,
        });
      case 'config':
        if (positionals[0] !== 'check') break;
        return await runConfigCheck({ ...(values.config ? { configFile: values.config } : {}), io });
      default:
        break;
    }
    io.err(`Unknown command "${[command, ...rest].join(' ')}".\n\n${USAGE}`);
    return 2;
  } catch (err) {
    return reportError(err, io);
  }
}

export function reportError(err: unknown, io: CliIo): number {
  if (err instanceof StranglerError) {
    io.err(err.message);
    return err.code === 'invalid_config' || err.code === 'usage' || err.code === 'data_dir_locked' ? 2 : 1;
  }
  if (err instanceof TypeError && (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    io.err(`${err.message}\n\n${USAGE}`);
    return 2;
  }
  const e = err as NodeJS.ErrnoException & { port?: number; address?: string };
  if (e?.code === 'EADDRINUSE') {
    io.err(
      `Port ${e.port ?? '?'} on ${e.address ?? '?'} is already in use. Stop the other process or pick another port (server.port / admin.port, or STRANGLER_PUBLIC_PORT / STRANGLER_ADMIN_PORT).`,
    );
    return 1;
  }
  io.err(err instanceof Error ? (err.stack ?? err.message) : String(err));
  return 1;
}
