import type { z } from 'zod';
import type { ConfigIssue } from './ConfigError.ts';
import { exampleFor } from './examples.ts';
import { formatPath } from './paths.ts';
import { knownKeys } from './schemaKeys.ts';

/**
 * Turns zod issues into one ConfigIssue per bad field. The field schemas already word their
 * messages (see fields.ts); here unknown keys are split one per key with the keys that are
 * allowed, and a union whose shape matched (a column list with one bad name) reports the
 * bad element instead of "none of the alternatives".
 */
export function formatIssues(schema: z.ZodType, issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[] = []): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeys(schema, path);
      for (const key of issue.keys) {
        out.push({
          path: formatPath([...path, key]),
          message: 'unknown key',
          example: known.length > 0 ? `remove it (known keys: ${known.join(', ')})` : 'remove it',
        });
      }
    } else if (issue.code === 'invalid_union') {
      const shapeMatched = issue.errors.filter((option) => option.length > 0 && option.every((i) => i.path.length > 0));
      const only = shapeMatched.length === 1 ? shapeMatched[0] : undefined;
      if (only) out.push(...formatIssues(schema, only, path));
      else out.push(issueAt(path, issue.message));
    } else if (issue.code === 'invalid_key') {
      out.push(issueAt(path, issue.issues[0]?.message ?? issue.message));
    } else {
      out.push(issueAt(path, issue.message));
    }
  }
  return dedupe(out);
}

function issueAt(path: readonly PropertyKey[], message: string): ConfigIssue {
  const at = formatPath(path);
  return { path: at, message, example: exampleFor(at) };
}

function dedupe(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.path}\u0000${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
