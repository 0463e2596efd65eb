import { readFileSync } from 'node:fs';
import path from 'node:path';
import { resolveAdminTokens, resolveWebhookSecret } from './adminTokens.ts';
import { ConfigError, type ConfigIssue } from './ConfigError.ts';
import { applyEnvOverrides } from './envOverrides.ts';
import { formatIssues } from './formatIssues.ts';
import { interpolate } from './interpolate.ts';
import { OPTIONAL_FIELDS, UPSTREAM_NOT_NEEDED, type OptionalField } from './optionalFields.ts';
import { parseYaml } from './parseYaml.ts';
import { resolvePaths } from './resolvePaths.ts';
import { configSchema, type Config } from './schema.ts';

export const DEFAULT_CONFIG_FILE = 'config/strangler.yaml';

export interface LoadConfigOptions {
  /** The YAML file; relative to `cwd`. Default config/strangler.yaml (when `text` is not given). */
  file?: string;
  /** YAML text to use instead of reading `file`; `file`, if also given, names it and anchors its relative paths. */
  text?: string;
  /** The process environment: `${VAR}` values, STRANGLER_* overrides and admin token secrets. */
  env: Readonly<Record<string, string | undefined>>;
  /** Directory for relative paths not written in a file. Default process.cwd(). */
  cwd?: string;
  /**
   * `false` for commands that never proxy (reconcile, doctor, migrate, offline projections):
   * `legacy.upstream` may then be absent or name an unset variable. Default true.
   */
  requireUpstream?: boolean;
}

/**
 * Reads, interpolates, overrides, validates and resolves the migration spec. The one place
 * that reads the environment. Throws ConfigError listing every bad field.
 *
 * Order matters: `${VAR}` is interpolated in the file first, then STRANGLER_* overrides
 * replace whole fields (an override silences a missing `${VAR}` in the field it replaces),
 * then the schema validates and applies defaults. An optional field whose `${VAR}` is unset
 * (optionalFields.ts) turns its part off: one line in `config.warnings`, which the caller prints.
 */
export function loadConfig(opts: LoadConfigOptions): Config {
  const cwd = opts.cwd ?? process.cwd();
  const file = opts.file ?? (opts.text === undefined ? DEFAULT_CONFIG_FILE : undefined);
  const source = file ?? 'inline config';
  const baseDir = file === undefined ? cwd : path.dirname(path.resolve(cwd, file));

  const text = opts.text ?? readConfigFile(path.resolve(cwd, file ?? DEFAULT_CONFIG_FILE), source);
  const parsed = parseYaml(text);
  if (parsed.issues.length > 0) throw new ConfigError(source, parsed.issues);

  // A token's `env` names a variable; interpolating it would put the secret itself there.
  const interpolated = interpolate(parsed.value, opts.env, { verbatim: (field) => /^admin\.tokens\[\d+\]\.env$/.test(field) });
  const overridden = applyEnvOverrides(interpolated.value, opts.env);
  const missing = interpolated.issues.filter((i) => !overridden.applied.has(i.path));
  const turnedOff: { field: OptionalField; message: string }[] = [];
  const unresolved = missing.filter((issue) => {
    const field = OPTIONAL_FIELDS.find((f) => f.path === issue.path);
    if (field && setAt(overridden.value, field.path, field.placeholder)) {
      turnedOff.push({ field, message: issue.message });
      return false;
    }
    if (opts.requireUpstream === false && issue.path === 'legacy.upstream')
      return !setAt(overridden.value, issue.path, UPSTREAM_NOT_NEEDED);
    return true;
  });
  if (opts.requireUpstream === false && valueAt(overridden.value, 'legacy.upstream') === undefined)
    setAt(overridden.value, 'legacy.upstream', UPSTREAM_NOT_NEEDED);
  const unresolvedPaths = new Set(unresolved.map((i) => i.path));

  const result = configSchema.safeParse(overridden.value);
  const schemaIssues = result.success
    ? []
    : formatIssues(configSchema, result.error.issues)
        // A field whose ${VAR} is missing is reported once, for the variable.
        .filter((i) => !unresolvedPaths.has(i.path))
        .map((i) => withSource(i, overridden.applied.get(i.path)));
  const issues = [...unresolved, ...schemaIssues];
  if (!result.success || issues.length > 0) throw new ConfigError(source, issues);

  let validated = result.data;
  const warnings: string[] = [];
  for (const { field, message } of turnedOff) {
    const { spec, off } = field.turnOff(validated);
    validated = spec;
    warnings.push(`${field.path}: ${message}, so ${off}. Set it to turn this on.`);
  }
  const spec = resolvePaths(validated, {
    baseDir,
    cwd,
    writtenInFile: (field) => !overridden.applied.has(field) && valueAt(interpolated.value, field) !== undefined,
  });
  const tokens = resolveAdminTokens(spec.admin.tokens, opts.env);
  const webhook = resolveWebhookSecret(spec.rollback.webhook, opts.env, warnings);
  return {
    ...spec,
    admin: { ...spec.admin, resolvedTokens: tokens.resolved, disabledTokens: tokens.disabled },
    rollback: { ...spec.rollback, webhook },
    warnings,
  };
}

function readConfigFile(absolute: string, source: string): string {
  try {
    return readFileSync(absolute, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new ConfigError(source, [
      {
        path: absolute,
        message: `cannot read the file (${code})`,
        example: `strangler start --config ${DEFAULT_CONFIG_FILE}`,
      },
    ]);
  }
}

function withSource(issue: ConfigIssue, envName: string | undefined): ConfigIssue {
  return envName === undefined ? issue : { ...issue, message: `${issue.message} (set by ${envName})` };
}

/**
 * Writes `value` at a dotted path of the raw spec, creating missing sections. False when the
 * path runs through something that is not a mapping (the schema reports that one).
 */
function setAt(root: unknown, dotted: string, value: unknown): boolean {
  const keys = dotted.split('.');
  let node = root;
  for (const key of keys.slice(0, -1)) {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return false;
    const parent = node as Record<string, unknown>;
    node = parent[key] ??= {};
  }
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return false;
  (node as Record<string, unknown>)[keys[keys.length - 1]!] = value;
  return true;
}

function valueAt(root: unknown, dotted: string): unknown {
  let node = root;
  for (const key of dotted.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}
