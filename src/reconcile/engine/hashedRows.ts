import { displayCanonical, hashRow } from '../encoding/rowEncoding.ts';
import type { DiffRow } from '../store/runs.ts';
import type { EntityPlan } from './entityPlan.ts';
import { keyText } from './keyText.ts';
import { canonOf, type HashedRow } from './merge.ts';

export function hashRows(plan: EntityPlan, rows: readonly unknown[][]): HashedRow[] {
  return rows.map((values) => {
    const { canon, hash } = hashRow(plan.columns, values);
    canon.length = plan.keyKinds.length;
    return { values, keyCanon: canon, hash };
  });
}

export function valuesOf(plan: EntityPlan, row: HashedRow | undefined): Record<string, string | null> | null {
  if (!row) return null;
  const canon = canonOf(plan.columns, row);
  return Object.fromEntries(plan.columns.map((c, i) => [c.legacy, displayCanonical(canon[i]!)]));
}

export function diffOf(
  plan: EntityPlan,
  o: { kind: 'missing' | 'extra' | 'differing'; legacy?: HashedRow; readModel?: HashedRow; columns?: string[] },
): DiffRow {
  const row = (o.legacy ?? o.readModel)!;
  return {
    keyText: keyText(row.keyCanon),
    key: row.values.slice(0, plan.keyKinds.length),
    class: o.kind,
    columns: o.columns ?? [],
    legacy: valuesOf(plan, o.legacy),
    readModel: valuesOf(plan, o.readModel),
  };
}
