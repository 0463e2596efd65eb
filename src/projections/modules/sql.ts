/**
 * Identifier quoting for read-model SQL. Table and column names come from the spec (checked
 * as SQL identifiers there) and from the runner's physical names; quoting keeps a name that
 * is also a keyword (`order`, `user`) working.
 */
export function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * A table name, optionally schema-qualified (`rm.orders`): each part quoted on its own.
 * Physical names come from the runner (e.g. a rebuild's fresh tables).
 */
export function tableIdent(name: string): string {
  return name.split('.').map(ident).join('.');
}

/** The physical name the runner gave a logical table; a missing one is a programming error. */
export function tableName(t: Readonly<Record<string, string>>, logical: string): string {
  const physical = t[logical];
  if (!physical)
    throw new Error(
      `No physical table for "${logical}"; the runner must map every name in module.tables (got ${Object.keys(t).join(', ') || 'none'}).`,
    );
  return physical;
}
