import YAML from 'yaml';
import type { ConfigIssue } from './ConfigError.ts';

const GENERAL_HINT = 'indent nested keys with spaces and quote values containing ": " or " #", like route: "POST /orders/:id/pay"';
// `{ url: ${DB_URL} }` is a syntax error: inside { } the braces of ${...} are YAML syntax.
const INTERPOLATION_HINT = 'quote ${VAR} references inside { }, like database: { url: "${STRANGLER_LEGACY_DB_URL}" }';

/** Parses the YAML text; syntax errors become issues at `line L, column C` (the first per line). */
export function parseYaml(text: string): { value: unknown; issues: ConfigIssue[] } {
  const doc = YAML.parseDocument(text, { prettyErrors: true });
  const lines = text.split(/\r?\n/);
  const issues: ConfigIssue[] = [];
  const seenLines = new Set<number>();
  for (const error of doc.errors) {
    const pos = error.linePos?.[0];
    if (pos && seenLines.has(pos.line)) continue; // later errors on a line are usually echoes of the first
    if (pos) seenLines.add(pos.line);
    const firstLine = (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
    const source = pos ? (lines[pos.line - 1] ?? '') : '';
    issues.push({
      path: pos ? `line ${pos.line}, column ${pos.col}` : 'YAML',
      message: `YAML syntax error: ${firstLine}`,
      example: source.includes('${') ? INTERPOLATION_HINT : GENERAL_HINT,
    });
  }
  if (issues.length > 0) return { value: undefined, issues };
  const value: unknown = doc.toJS();
  // An empty file is an empty spec: every section takes its defaults.
  return { value: value ?? {}, issues };
}
