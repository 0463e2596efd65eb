import { readFileSync } from 'node:fs';
import { StranglerError } from '../errors/StranglerError.ts';
import { PACKAGE_JSON } from '../paths/packageRoot.ts';
import { AdminApiError } from './adminClient.ts';
import { parseCommand, UsageError, wantsHelp } from './args.ts';
import { COMMAND_USAGE, USAGE, type CommandName } from './usage.ts';

export { USAGE } from './usage.ts';

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

export const VERSION = (JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { version: string }).version;

const CONFIG = { config: { type: 'string', short: 'c' } } as const;

/**
 * Each command parses its own options, so an unknown one is named against that command's usage.
 * A command's module is imported when that command runs: `strangler --help` or `strangler
 * status` does not load Express, the drivers, the proxy and the projection runners (a third
 * of a second and tens of MB when they were imported up front).
 */
const COMMANDS: Record<CommandName, (args: string[], io: CliIo) => Promise<number>> = {
  async demo(args, io) {
    const { values, positionals } = parseCommand('demo', args, { data: { type: 'string' } }, COMMAND_USAGE.demo);
    if (positionals.length > 1 || (values.data !== undefined && positionals.length > 0))
      throw new UsageError(
        `strangler demo takes one data directory (got "${[values.data, ...positionals].join(' ')}").`,
        COMMAND_USAGE.demo,
      );
    const dataDir = values.data ?? positionals[0];
    const [{ runDemo }, { demoSample }, { untilSignal }] = await Promise.all([
      import('../demo/runDemo.ts'),
      import('../../examples/demo.ts'),
      import('./start.ts'),
    ]);
    return runDemo({ sample: demoSample, env: io.env, out: io.out, until: untilSignal(), ...(dataDir ? { dataDir } : {}) });
  },
  async start(args, io) {
    const { values } = noPositionals('start', args, CONFIG);
    const { runStart } = await import('./start.ts');
    return runStart({ ...(values.config ? { configFile: values.config } : {}), io });
  },
  async selfcheck(args, io) {
    const { values } = noPositionals('selfcheck', args, { url: { type: 'string' } });
    const { runSelfCheck } = await import('./selfcheck.ts');
    return runSelfCheck({ url: values.url ?? 'memory', out: io.out });
  },
  async migrate(args, io) {
    const { values } = noPositionals('migrate', args, { ...CONFIG, url: { type: 'string' } });
    const { runMigrate } = await import('./migrate.ts');
    return runMigrate({ ...(values.config ? { configFile: values.config } : {}), ...(values.url ? { url: values.url } : {}), io });
  },
  async config(args, io) {
    const { values, positionals } = parseCommand('config', args, CONFIG, COMMAND_USAGE.config);
    if (positionals.join(' ') !== 'check')
      throw new UsageError(
        `strangler config: unknown subcommand "${positionals.join(' ')}" (the one there is: check).`,
        COMMAND_USAGE.config,
      );
    const { runConfigCheck } = await import('./configCheck.ts');
    return runConfigCheck({ ...(values.config ? { configFile: values.config } : {}), io });
  },
  status: async (args, io) => (await import('./status.ts')).runStatusCommand(args, io),
  projections: async (args, io) => (await import('./projections.ts')).runProjectionsCommand(args, io),
  canary: async (args, io) => (await import('./canary.ts')).runCanaryCommand(args, io),
  guard: async (args, io) => (await import('./guard.ts')).runGuardCommand(args, io),
  // doctor and reconcile parse their own options and own their exit codes (2 = error).
  doctor: async (args, io) => (await import('./doctor.ts')).runDoctorCommand(args, io),
  reconcile: async (args, io) => (await import('./reconcile.ts')).runReconcileCommand(args, io),
};

function noPositionals<O extends Parameters<typeof parseCommand>[2]>(command: CommandName, args: string[], options: O) {
  const parsed = parseCommand(command, args, options, COMMAND_USAGE[command]);
  if (parsed.positionals.length)
    throw new UsageError(`strangler ${command} takes no arguments (got "${parsed.positionals.join(' ')}").`, COMMAND_USAGE[command]);
  return parsed;
}

const isCommand = (c: string | undefined): c is CommandName => c !== undefined && Object.hasOwn(COMMAND_USAGE, c);

/** Runs the CLI; returns the process exit code. Thin: parse, call, print. */
export async function main(argv: string[], io: CliIo = defaultIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined) {
    io.err(USAGE);
    return 2;
  }
  if (command === 'help' || command === '--help' || command === '-h') {
    const topic = rest[0];
    if (topic !== undefined && !isCommand(topic)) return unknownCommand(topic, io);
    io.out(topic === undefined ? USAGE : usageOf(topic));
    return 0;
  }
  if (command === '--version' || command === '-v' || command === 'version') {
    io.out(`strangler-sidecar ${VERSION}`);
    return 0;
  }
  if (command.startsWith('-')) {
    io.err(`strangler: unknown option ${command}\n\n${USAGE}`);
    return 2;
  }
  if (!isCommand(command)) return unknownCommand(command, io);
  if (wantsHelp(rest)) {
    io.out(usageOf(command));
    return 0;
  }
  try {
    return await COMMANDS[command](rest, io);
  } catch (err) {
    return reportError(err, io);
  }
}

const usageOf = (command: CommandName) => `Usage:\n${COMMAND_USAGE[command]}`;

function unknownCommand(command: string, io: CliIo): number {
  io.err(`strangler: unknown command "${command}"\n\n${USAGE}`);
  return 2;
}

/**
 * One line (or a usage block) per failure, never a stack trace for what we expected to go
 * wrong. Exit 2 for bad usage or configuration, and for answers that mean the same from the
 * admin API (400 bad input, 404 unknown name, 401/403 wrong token); 1 for everything else.
 */
export function reportError(err: unknown, io: CliIo): number {
  if (err instanceof AdminApiError) {
    io.err(err.message);
    return [400, 401, 403, 404].includes(err.httpStatus) ? 2 : 1;
  }
  if (err instanceof StranglerError) {
    io.err(err.message);
    return err.code === 'invalid_config' || err.code === 'usage' || err.code === 'data_dir_locked' ? 2 : 1;
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
