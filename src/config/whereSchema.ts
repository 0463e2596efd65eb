import { z } from 'zod';
import { expected, sqlIdentifier } from './fields.ts';

/**
 * `reconcile.where`: a row filter per side, so only live rows are compared. Per column:
 *   status: active            column = value
 *   deleted_at: null          column IS NULL
 *   status: { not: deleted }  column <> value, or NULL (a NULL status is not "deleted")
 *   status: { not: null }     column IS NOT NULL
 *   status: { in: [a, b] }    column IN (a, b)
 * Conditions are ANDed. Values are sent as parameters; the columns are checked against the
 * table when a run plans the entity (src/reconcile/engine/sideFilter.ts).
 */

const SCALAR_WHAT = 'a string, number or true/false';
const scalar = z.union([z.string(), z.number(), z.boolean()], expected(SCALAR_WHAT));
const CONDITION_WHAT = 'a value, null, { not: value } or { in: [a, b] }';

export const whereCondition = z.union(
  [
    scalar,
    z.null(),
    z.strictObject({ not: z.union([scalar, z.null()], expected(`${SCALAR_WHAT} or null`)) }, expected(CONDITION_WHAT)),
    z.strictObject(
      { in: z.array(scalar, expected(`a list of ${SCALAR_WHAT}`)).min(1, expected('a list of one value or more')) },
      expected(CONDITION_WHAT),
    ),
  ],
  expected(CONDITION_WHAT),
);

export type WhereCondition = z.output<typeof whereCondition>;
/** Column → condition, for one side. */
export type WhereSpec = Readonly<Record<string, WhereCondition>>;

const sideWhere = z.record(
  sqlIdentifier(),
  whereCondition,
  expected('a mapping of column → condition, like { record_status: { not: deleted } }'),
);

export const whereSchema = z
  .strictObject(
    { legacy: sideWhere.optional(), readModel: sideWhere.optional() },
    expected('a mapping with legacy and/or readModel, like { legacy: { record_status: { not: deleted } } }'),
  )
  .optional();
