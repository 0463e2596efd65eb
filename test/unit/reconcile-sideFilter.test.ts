import { describe, expect, it } from 'vitest';
import { keysQuery, rangeQuery, type SideShape } from '../../src/reconcile/engine/sideSql.ts';
import { rangesRowsQuery } from '../../src/reconcile/prefilter/segmentSql.ts';

/** reconcile.where in the side SQL: quoted columns, values as parameters in placeholder order. */
const shape = (dialect: 'mysql' | 'postgres'): SideShape => ({
  dialect,
  table: 'articles',
  columns: ['id', 'title'],
  keyKinds: ['string'],
  where: { record_status: { not: 'deleted' }, deleted_at: null, kind: { in: ['post', "it's"] }, archived: false, pinned: { not: null } },
});
const FILTER = (q: (n: number) => string, c: (s: string) => string) =>
  `(${c('record_status')} IS NULL OR ${c('record_status')} <> ${q(1)}) AND ${c('deleted_at')} IS NULL AND ${c('kind')} IN (${q(2)}, ${q(3)}) AND ${c('archived')} = ${q(4)} AND ${c('pinned')} IS NOT NULL`;
const VALUES = ['deleted', 'post', "it's", false];

describe('the side filter in the SQL builders', () => {
  it('walks a range of filtered rows (MySQL: ? in text order)', () => {
    const q = rangeQuery(shape('mysql'), ['a1'], null, 10);
    const filter = FILTER(
      () => '?',
      (s) => `\`${s}\``,
    );
    // The key comparison and order after the filter are the builders' own (collations may change them).
    expect(q.sql).toContain(`SELECT \`id\`, \`title\` FROM \`articles\` WHERE ${filter} AND `);
    expect(q.sql.match(/\?/g)).toHaveLength(q.params.length);
    expect(q.params).toEqual([...VALUES, 'a1', 10]);
  });

  it('numbers PostgreSQL placeholders after the filter, and filters key lookups and narrowed ranges too', () => {
    const c = (s: string) => `"${s}"`;
    const keys = keysQuery(shape('postgres'), [['a1'], ['a2']]);
    expect(keys.sql).toContain(`FROM "articles" WHERE ${FILTER((n) => `$${n}`, c)} AND `);
    expect(keys.sql).toContain('($5, $6)');
    expect(keys.params).toEqual([...VALUES, 'a1', 'a2']);
    const ranges = rangesRowsQuery(shape('postgres'), [{ after: ['a1'], upTo: ['a3'] }]);
    expect(ranges.sql).toContain(`WHERE ${FILTER((n) => `$${n}`, c)} AND (`);
    expect(ranges.sql).toMatch(/> \$5 .*<= \$6/);
    expect(ranges.params).toEqual([...VALUES, 'a1', 'a3']);
  });

  it('leaves the SQL of an unfiltered side as it was', () => {
    const { where: _omit, ...plain } = shape('mysql');
    const q = rangeQuery(plain, null, null, 5);
    expect(q.sql).not.toContain('WHERE');
    expect(q.params).toEqual([5]);
  });
});
