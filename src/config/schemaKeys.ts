import type { z } from 'zod';

/**
 * The keys a strict object accepts at a path of the schema, for "unknown key" messages.
 * Walks zod 4's schema definitions (`_zod.def`) through the wrappers this project uses:
 * optional/default/prefault/nullable, pipes (preprocess, transform), arrays and records.
 */

interface Def {
  type: string;
  shape?: Record<string, Node>;
  innerType?: Node;
  in?: Node;
  out?: Node;
  element?: Node;
  valueType?: Node;
  options?: Node[];
}
interface Node {
  _zod: { def: Def };
}

function unwrap(node: Node): Node {
  const def = node._zod.def;
  if (def.innerType) return unwrap(def.innerType);
  if (def.type === 'pipe' && def.in && def.out) return unwrap(def.in._zod.def.type === 'transform' ? def.out : def.in);
  return node;
}

function child(node: Node, key: PropertyKey): Node | undefined {
  const def = unwrap(node)._zod.def;
  if (def.type === 'object') return def.shape?.[String(key)];
  if (def.type === 'array') return def.element;
  if (def.type === 'record') return def.valueType;
  if (def.type === 'union') return def.options?.map((o) => child(o, key)).find((c) => c !== undefined);
  return undefined;
}

export function knownKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let node: Node | undefined = schema;
  for (const key of path) {
    node = node && child(node, key);
  }
  if (!node) return [];
  const def = unwrap(node)._zod.def;
  return def.type === 'object' ? Object.keys(def.shape ?? {}) : [];
}
