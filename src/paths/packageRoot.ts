import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package's own directory (where package.json, migrations/ and examples/ sit), the same
 * whether this module runs from src/ through tsx or from the compiled dist/src/: the first
 * directory above this file holding the strangler-sidecar package.json.
 */
function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === 'strangler-sidecar') return dir;
    if (path.dirname(dir) === dir) throw new Error(`strangler-sidecar: no package.json of the package above ${from}`);
  }
}

export const PACKAGE_ROOT = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));
export const PACKAGE_JSON = path.join(PACKAGE_ROOT, 'package.json');
