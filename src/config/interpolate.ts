import type { ConfigIssue } from './ConfigError.ts';
import { exampleFor } from './examples.ts';
import { formatPath } from './paths.ts';

const REFERENCE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{[^}]*\}?/g;

/**
 * Replaces `${VAR}` and `${VAR:-default}` in every string value with text from `env`
 * (`$${` is a literal `${`). As in the shell, `:-` also applies when VAR is set but empty.
 * A variable that is unset and has no default is an issue at the field's path.
 * `verbatim` fields are left as written.
 */
export function interpolate(
  value: unknown,
  env: Readonly<Record<string, string | undefined>>,
  opts: { verbatim?: (path: string) => boolean } = {},
): { value: unknown; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];

  const walk = (node: unknown, path: PropertyKey[]): unknown => {
    if (typeof node === 'string') return opts.verbatim?.(formatPath(path)) ? node : substitute(node, path);
    if (Array.isArray(node)) return node.map((item, i) => walk(item, [...path, i]));
    if (node !== null && typeof node === 'object') {
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v, [...path, k])]));
    }
    return node;
  };

  const substitute = (text: string, path: PropertyKey[]): string =>
    text.replace(REFERENCE, (match: string, name: string | undefined, fallback: string | undefined) => {
      if (match === '$${') return '${';
      const at = formatPath(path);
      if (name === undefined) {
        issues.push({ path: at, message: `malformed reference ${match}; write \${NAME} or \${NAME:-default}`, example: exampleFor(at) });
        return match;
      }
      const set = env[name];
      if (fallback !== undefined) return set === undefined || set === '' ? fallback : set;
      if (set === undefined) {
        issues.push({ path: at, message: `environment variable ${name} is not set`, example: exampleFor(at) });
        return match;
      }
      return set;
    });

  return { value: walk(value, []), issues };
}
