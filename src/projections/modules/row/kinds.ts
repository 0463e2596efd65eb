import type { CommandSpec } from '../../../config/schema.ts';
import { deleteTarget } from '../../../config/deleteRoutes.ts';
import { splitRoute } from '../../../config/routes.ts';
import { StranglerError } from '../../../errors/StranglerError.ts';
import { ROW_REMOVED, ROW_REPAIRED } from '../../../reconcile/repair/repairEvents.ts';

/** What an event does to the entity's row in the generic row projection. */
export type RowEventKind = 'created' | 'updated' | 'deleted';

/**
 * Event type → kind, decided from the entity's commands:
 *
 * - a DELETE on the entity's own item route (`DELETE /orders/:id`) → deleted (the row goes,
 *   a tombstone keeps its version); with `softDelete` → updated (the row stays)
 * - a DELETE on a sub-resource (`DELETE /api/articles/:slug/favorite`, `/orders/:id/items/:sku`)
 *   → updated: the row stays, its data (the legacy after-image by default) merged in
 * - a command that starts the stream → created (its data is the whole row): one with
 *   `expectedVersion: no_stream`, or a POST whose id comes from the answer (`id: "$.id"`,
 *   no `:id` in the route), or a POST with a `lookup` on a route with no parameter
 * - everything else → updated (its data is merged into the row, field by field)
 *
 * `overrides` wins over the rule (e.g. `{ CustomerReplaced: 'created' }` for a PUT that
 * writes the whole row; the entity's `rowEvents` in YAML). One event type written by two commands of different kinds is
 * ambiguous and refused unless overridden.
 */
export function rowEventKinds(
  commands: readonly CommandSpec[],
  overrides: Readonly<Record<string, RowEventKind>> = {},
  opts: { softDelete?: boolean } = {},
): Map<string, RowEventKind> {
  const kinds = new Map<string, RowEventKind>();
  for (const cmd of commands) {
    if (overrides[cmd.event]) continue;
    const kind = kindOf(cmd, opts.softDelete === true);
    const seen = kinds.get(cmd.event);
    if (seen && seen !== kind) {
      throw new StranglerError(
        'ambiguous_row_event',
        `Event ${cmd.event} is written by commands that mean both "${seen}" and "${kind}" for the row projection; give it one kind in code, e.g. createRowProjection({ kinds: { ${cmd.event}: '${seen}' } }).`,
      );
    }
    kinds.set(cmd.event, kind);
  }
  for (const [type, kind] of Object.entries(overrides)) kinds.set(type, kind);
  // Reconciliation's corrective events: the legacy after-image replaces the row; a removal deletes it.
  if (!kinds.has(ROW_REPAIRED)) kinds.set(ROW_REPAIRED, 'created');
  if (!kinds.has(ROW_REMOVED)) kinds.set(ROW_REMOVED, 'deleted');
  return kinds;
}

function kindOf(cmd: CommandSpec, softDelete: boolean): RowEventKind {
  const { method, params } = splitRoute(cmd.route);
  const target = deleteTarget(cmd.route);
  if (target === 'item') return softDelete ? 'updated' : 'deleted';
  if (target === 'sub') return 'updated';
  if (cmd.expectedVersion === 'no_stream') return 'created';
  if (method === 'POST' && cmd.id !== undefined && !params.includes('id')) return 'created';
  // A lookup on a collection route (`POST /api/articles`): the row it finds is new.
  if (method === 'POST' && cmd.lookup !== undefined && params.length === 0) return 'created';
  return 'updated';
}
