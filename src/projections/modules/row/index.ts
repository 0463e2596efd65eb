export { createRowProjection, type RowProjectionOptions } from './rowProjection.ts';
export { rowEventKinds, type RowEventKind } from './kinds.ts';
export { defaultRowColumns, type RowColumn } from './columns.ts';
export { describeLegacyTable, pgTypeOf, type LegacyColumn } from './legacyTable.ts';
