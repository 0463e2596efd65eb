/** Field paths as operators read them: `entities.orders.commands[0].route`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

/** `a.b[0].c` → `['a', 'b', '[0]', 'c']`. */
export function pathSegments(path: string): string[] {
  return path === '' ? [] : path.split(/\.|(?=\[)/);
}
