import { parseArgs, type ParseArgsConfig } from 'node:util';
import { StranglerError } from '../errors/StranglerError.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Bad usage of one command: the message, a blank line, then that command's usage. Exit 2. */
export class UsageError extends StranglerError {
  constructor(message: string, usage: string) {
    super('usage', `${message}\n\nUsage:\n${usage}`, { status: 400 });
  }
}

/** `--help` or `-h` anywhere before a `--`: the caller prints the usage and exits 0. */
export function wantsHelp(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

/** The options every admin API client takes (see adminClient.ts). */
export const ADMIN_OPTIONS = {
  admin: { type: 'string' },
  token: { type: 'string' },
} as const satisfies Options;

/**
 * Strict parseArgs for one command: an unknown option is named in one line, followed by the
 * command's usage, and nothing else (Node's own message is long and suggests `--`).
 */
export function parseCommand<O extends Options>(command: string, args: string[], options: O, usage: string) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    if (!code.startsWith('ERR_PARSE_ARGS')) throw err;
    const message = (err as Error).message;
    const flag = /'(-[^' ]*)/.exec(message)?.[1];
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && flag) throw new UsageError(`strangler ${command}: unknown option ${flag}`, usage);
    throw new UsageError(`strangler ${command}: ${message.replace(/\. To specify a positional argument.*$/s, '.')}`, usage);
  }
}
