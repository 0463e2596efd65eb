import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Executor } from '../../src/db/executor.ts';
import { createPgliteExecutor } from '../../src/db/pgliteExecutor.ts';
import { arrayLiteral } from '../../src/projections/modules/sql.ts';

describe('arrayLiteral', () => {
  let db: Executor;
  beforeAll(async () => {
    db = await createPgliteExecutor({});
  });
  afterAll(async () => {
    await db.close();
  });

  it('round-trips awkward text through a text[] parameter: quotes, backslashes, separators, NULL as text, empty, unicode', async () => {
    const values = ['plain', 'a "quoted" word', 'back\\slash\\', 'comma, {brace}', 'NULL', '', ' spaced ', 'ünïcødé ✓', null, '\\"'];
    const { rows } = await db.query<{ v: string | null }>('SELECT v FROM unnest($1::text[]) WITH ORDINALITY AS t(v, n) ORDER BY t.n', [
      arrayLiteral(values),
    ]);
    expect(rows.map((r) => r.v)).toEqual(values);
  });

  it('round-trips arrays of plain strings only (the joined fast path), an empty string, "NULL" as text, and an empty array', async () => {
    for (const values of [['ord_1', '', 'NULL', ' x ', 'a,b', '{}'], ['one'], []]) {
      const { rows } = await db.query<{ v: string | null }>('SELECT v FROM unnest($1::text[]) WITH ORDINALITY AS t(v, n) ORDER BY t.n', [
        arrayLiteral(values),
      ]);
      expect(rows.map((r) => r.v)).toEqual(values);
    }
  });

  it('writes numbers as they print, for int, bigint and numeric arrays', async () => {
    const { rows } = await db.query<{ i: number[]; b: string; m: string }>(
      'SELECT $1::int[] AS i, ($2::bigint[])[2]::text AS b, ($3::numeric[])[1]::text AS m',
      [arrayLiteral([1, 2, 3]), arrayLiteral([7, 9007199254740991]), arrayLiteral(['12.50', null])],
    );
    expect(rows[0]).toEqual({ i: [1, 2, 3], b: '9007199254740991', m: '12.50' });
  });
});
