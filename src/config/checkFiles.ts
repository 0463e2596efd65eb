import { existsSync } from 'node:fs';
import type { ConfigIssue } from './ConfigError.ts';
import { exampleFor } from './examples.ts';
import type { Config } from './schema.ts';

/**
 * Files the config names that are not there: projection modules and read handlers. The
 * schema checks only their shape; `config check` checks they exist, so a typo in a path is
 * found before the sidecar tries to import it at start-up.
 */
export function missingFiles(config: Config): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const check = (field: string, file: string) => {
    if (!existsSync(file)) issues.push({ path: field, message: `file not found: ${file}`, example: exampleFor(field) });
  };
  for (const [name, entity] of Object.entries(config.entities)) {
    if (entity.projection !== 'row' && !entity.projection.startsWith('of:')) check(`entities.${name}.projection`, entity.projection);
    entity.reads.forEach((read, i) => {
      if (read.handler !== undefined) check(`entities.${name}.reads[${i}].handler`, read.handler);
    });
  }
  return issues;
}
