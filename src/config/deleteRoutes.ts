import { commandRoute, splitRoute } from './routes.ts';

/**
 * What a DELETE command means for the entity's row (soft deletes, sub-resources).
 *
 * - `item`: the entity's own item route. Its last path segment is the key parameter (`:id`,
 *   or the route's only parameter, e.g. `:slug`), or it has no parameter at all (the row is
 *   found from the answer): `DELETE /orders/:id`, `DELETE /api/articles/:slug`, `DELETE /api/user`.
 * - `sub`: any deeper path, a sub-resource: `DELETE /orders/:id/items/:sku`,
 *   `DELETE /api/articles/:slug/favorite`. The row stays; the command is an update of it.
 *
 * null for a route that is not a DELETE.
 */
export function deleteTarget(route: string): 'item' | 'sub' | null {
  const { method, path, params } = splitRoute(route);
  if (method !== 'DELETE') return null;
  if (params.length === 0) return 'item';
  const last = path.split('/').pop() ?? '';
  const keyParam = params.includes('id') ? 'id' : params.length === 1 ? params[0] : undefined;
  return last === `:${keyParam}` ? 'item' : 'sub';
}

interface EntityLike {
  projection?: unknown;
  softDelete?: unknown;
}

/** The entity's item DELETE under `softDelete`: an update that keeps the row. */
export function isSoftDelete(entity: EntityLike, route: string): boolean {
  return entity.softDelete !== undefined && entity.softDelete !== null && deleteTarget(route) === 'item';
}

/**
 * A command whose event the row projection applies as an update re-reading the row: a
 * sub-resource DELETE, or the item DELETE of a soft-deleting entity. With a legacy database
 * such a command captures the legacy row's after-image (`capture: row`) unless it names its
 * capture; without one it captures the request (and a soft delete sets its column).
 * Only for `projection: row` entities: a projection module keeps the capture it was written for.
 */
export function rereadsRow(entity: EntityLike, route: string): boolean {
  const projection = entity.projection ?? 'row';
  return projection === 'row' && (deleteTarget(route) === 'sub' || isSoftDelete(entity, route));
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Before validation, on the raw spec: a command `rereadsRow` that does not name its capture
 * gets `capture: row` when `legacy.database.url` is set. Anything malformed is left alone
 * for the schema to report.
 */
export function defaultRowRereads(input: unknown): unknown {
  if (!isMap(input) || !isMap(input.legacy) || !isMap(input.legacy.database)) return input;
  const url = input.legacy.database.url;
  if (typeof url !== 'string' || url === '' || !isMap(input.entities)) return input;
  const entities = Object.fromEntries(
    Object.entries(input.entities).map(([name, e]) => {
      if (!isMap(e) || !Array.isArray(e.commands)) return [name, e];
      const commands = e.commands.map((c: unknown) =>
        isMap(c) && c.capture === undefined && commandRoute().safeParse(c.route).success && rereadsRow(e, c.route as string)
          ? { ...c, capture: 'row' }
          : c,
      );
      return [name, { ...e, commands }];
    }),
  );
  return { ...input, entities };
}

/**
 * The event data of a soft delete captured without the legacy row (capture request or
 * response): the soft-delete column set to its value, over what the body held. Other
 * commands' data, and a `capture: row` after-image (the column as legacy wrote it), unchanged.
 */
export function withSoftDelete(
  entity: EntityLike & { softDelete?: { column: string; value: unknown } },
  command: { route: string; capture: string },
  data: unknown,
): unknown {
  if (command.capture === 'row' || !entity.softDelete || !isSoftDelete(entity, command.route)) return data;
  const base = isMap(data) ? data : {};
  return { ...base, [entity.softDelete.column]: entity.softDelete.value };
}
