/**
 * The corrective events `strangler reconcile --repair --apply` appends. Projections handle
 * them like any event, so a read model converges through the log (never by editing it):
 *
 * - RowRepaired: data = the legacy row's after-image, by read-model column name, values in
 *   their canonical text (decimals at scale, instants as ISO UTC). The row becomes exactly that.
 * - RowRemoved: the legacy row is gone; the read-model row goes too.
 *
 * metadata: { source: 'reconciliation', runId, class, columns, schemaVersion: 1 }.
 */
export const ROW_REPAIRED = 'StranglerRowRepaired';
export const ROW_REMOVED = 'StranglerRowRemoved';
