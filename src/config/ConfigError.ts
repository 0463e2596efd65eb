import { StranglerError } from '../errors/StranglerError.ts';

/** One bad field: where it is, what is wrong, and a value that would be right. */
export interface ConfigIssue {
  /** `entities.orders.commands[0].route`, or `line 3, column 5` for a YAML syntax error. */
  path: string;
  message: string;
  example: string;
}

/**
 * The configuration cannot be used. Lists every bad field at once so an operator fixes the
 * file in one pass; the CLI prints `message` and exits with code 2. Never carries secrets:
 * token values are read from the environment after validation and are not in any message.
 */
export class ConfigError extends StranglerError {
  readonly issues: readonly ConfigIssue[];
  readonly source: string;

  constructor(source: string, issues: readonly ConfigIssue[]) {
    super('invalid_config', formatConfigIssues(source, issues), { status: 400, details: { source, issues } });
    this.issues = issues;
    this.source = source;
  }
}

export function formatConfigIssues(source: string, issues: readonly ConfigIssue[]): string {
  const lines = issues.map((i) => `  - ${i.path === '' ? '(top level)' : i.path}: ${i.message}. Example: ${i.example}`);
  return [`Invalid configuration in ${source}:`, ...lines].join('\n');
}
