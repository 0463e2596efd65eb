import { StranglerError } from '../../errors/StranglerError.ts';
import type { ColumnKind, ColumnPlan, ColumnRule } from '../encoding/kinds.ts';
import type { ColumnInfo } from './describeTable.ts';

const DIGITS = /^digits:(\d+)$/;

/** What one side's declared type says about a column, before the two sides are paired. */
interface SideKind {
  kind: ColumnKind | 'boolish';
  scale?: number;
  fraction?: number;
  digits?: number;
  /** CHAR(n): PostgreSQL pads to n, MySQL strips trailing spaces; compared right-trimmed. */
  padded?: boolean;
}

const MYSQL_INT = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint', 'year']);
const MYSQL_TEXT = new Set(['varchar', 'text', 'tinytext', 'mediumtext', 'longtext', 'enum', 'set']);
const MYSQL_BYTES = new Set(['binary', 'varbinary', 'blob', 'tinyblob', 'mediumblob', 'longblob']);

/** The kind a declared type implies; null = not a type reconciliation knows how to compare. */
export function sideKind(c: ColumnInfo): SideKind | null {
  const t = c.dataType;
  // MySQL
  if (t === 'tinyint' && /^tinyint\(1\)/.test(c.columnType)) return { kind: 'boolish' };
  if (MYSQL_INT.has(t)) return { kind: 'integer' };
  if (t === 'bit' && c.columnType === 'bit(1)') return { kind: 'bool' };
  if (t === 'decimal' || t === 'numeric') return { kind: 'decimal', scale: c.scale ?? 0 };
  if (t === 'float') return { kind: 'float', digits: 6 };
  if (t === 'double' || t === 'double precision') return { kind: 'float', digits: 15 };
  if (t === 'real') return { kind: 'float', digits: c.columnType === 'float4' ? 6 : 15 };
  if (t === 'char' || t === 'character') return { kind: 'string', padded: true };
  if (MYSQL_TEXT.has(t) || t === 'character varying') return c.json ? { kind: 'json' } : { kind: 'string' };
  if (t === 'json' || t === 'jsonb') return { kind: 'json' };
  if (t === 'date') return { kind: 'date' };
  if (t === 'datetime' || t === 'timestamp' || t.startsWith('timestamp ')) return { kind: 'timestamp', fraction: c.fraction ?? 0 };
  if (MYSQL_BYTES.has(t) || t === 'bytea') return { kind: 'bytes' };
  if (t === 'uuid') return { kind: 'uuid' };
  // PostgreSQL
  if (t === 'smallint' || t === 'integer' || t === 'bigint') return { kind: 'integer' };
  if (t === 'boolean') return { kind: 'bool' };
  return null;
}

/** Two sides' kinds → the kind both are compared as, or null when they cannot be. */
function pair(a: SideKind, b: SideKind): Omit<ColumnPlan, 'legacy' | 'readModel' | 'rules' | 'types'> | null {
  const base = { scale: 0, fraction: 0, digits: 15 };
  const ka = a.kind === 'boolish' ? (b.kind === 'bool' ? 'bool' : 'integer') : a.kind;
  const kb = b.kind === 'boolish' ? (ka === 'bool' ? 'bool' : 'integer') : b.kind;
  if (ka === kb) {
    return {
      ...base,
      kind: ka,
      scale: Math.max(a.scale ?? 0, b.scale ?? 0),
      fraction: Math.min(a.fraction ?? 6, b.fraction ?? 6),
      digits: Math.min(a.digits ?? 15, b.digits ?? 15),
    };
  }
  const set = new Set([ka, kb]);
  if (set.has('integer') && set.has('decimal')) return { ...base, kind: 'decimal', scale: Math.max(a.scale ?? 0, b.scale ?? 0) };
  if (set.has('float') && (set.has('integer') || set.has('decimal')))
    return { ...base, kind: 'float', digits: (ka === 'float' ? a : b).digits ?? 15 };
  if (set.has('bytes') && set.has('uuid')) return { ...base, kind: 'uuid' };
  // Text on one side (a generic row projection keeps text columns): parsed as the other side's kind.
  if (set.has('string')) {
    const typed = ka === 'string' ? b : a;
    const kind = typed.kind === 'boolish' ? 'integer' : typed.kind;
    if (kind === 'bytes') return null;
    return { ...base, kind, scale: typed.scale ?? 0, fraction: typed.fraction ?? 6, digits: typed.digits ?? 15 };
  }
  return null;
}

const describe = (c: ColumnInfo) => (c.columnType && c.columnType !== c.dataType ? `${c.dataType} (${c.columnType})` : c.dataType);

export interface PlanInput {
  entity: string;
  legacyTable: string;
  readModelTable: string;
  legacy: readonly ColumnInfo[];
  readModel: readonly ColumnInfo[];
  /** `all` or legacy column → read-model column. */
  columns: 'all' | Readonly<Record<string, string>>;
  rules: Readonly<Record<string, readonly string[]>>;
  /** Key columns (legacy names); they are compared too, and lead the plan. */
  key: readonly string[];
}

/**
 * The compared columns, key columns first. Refuses, naming the column and what to write,
 * when a column is missing on a side, has a type it cannot compare, or the two types
 * cannot be compared with each other: a run that silently skipped a column would report
 * agreement it never checked.
 */
export function planColumns(input: PlanInput): ColumnPlan[] {
  const where = `entities.${input.entity}.reconcile`;
  const legacyBy = new Map(input.legacy.map((c) => [c.name, c]));
  const rmBy = new Map(input.readModel.map((c) => [c.name, c]));
  const ignored = new Set(
    Object.entries(input.rules)
      .filter(([, r]) => r.includes('ignore'))
      .map(([c]) => c),
  );
  const map: [string, string][] =
    input.columns === 'all'
      ? input.legacy.map((c) => [c.name, c.name] as [string, string]).filter(([l]) => !ignored.has(l))
      : Object.entries(input.columns);
  for (const k of input.key) if (!map.some(([l]) => l === k)) map.unshift([k, k]);
  const ordered = [...input.key.map((k) => map.find(([l]) => l === k)!), ...map.filter(([l]) => !input.key.includes(l))];

  const problems: string[] = [];
  const plans: ColumnPlan[] = [];
  for (const [l, r] of ordered) {
    const lc = legacyBy.get(l);
    const rc = rmBy.get(r);
    if (!lc) {
      problems.push(`column "${l}" is not in the legacy table ${input.legacyTable} (it has ${[...legacyBy.keys()].join(', ')})`);
      continue;
    }
    if (!rc) {
      problems.push(
        `legacy column "${l}" has no read-model column "${r}" in ${input.readModelTable} (it has ${[...rmBy.keys()].join(', ')}); ` +
          `map it (${where}.columns: { ${l}: OTHER_NAME }), list only the compared columns, or add ${where}.rules: { ${l}: ignore }`,
      );
      continue;
    }
    const a = sideKind(lc);
    const b = sideKind(rc);
    if (!a || !b) {
      const bad = !a ? `legacy ${input.legacyTable}.${l} is ${describe(lc)}` : `read model ${input.readModelTable}.${r} is ${describe(rc)}`;
      problems.push(
        `${bad}, a type reconciliation cannot compare yet; leave the column out of ${where}.columns or mark it { ${l}: ignore }`,
      );
      continue;
    }
    const kind = pair(a, b);
    if (!kind) {
      problems.push(
        `legacy ${l} (${describe(lc)}) and read model ${r} (${describe(rc)}) hold different kinds of value and cannot be compared`,
      );
      continue;
    }
    const given = input.rules[l] ?? [];
    const rules = given.filter((x): x is ColumnRule => x !== 'ignore' && !DIGITS.test(x));
    const digits = given.map((x) => DIGITS.exec(x)).find((m) => m !== null);
    if (digits) {
      if (kind.kind !== 'float') {
        problems.push(`rule ${digits[0]} on column "${l}" applies to float columns, and ${l} is compared as ${kind.kind}`);
        continue;
      }
      kind.digits = Number(digits[1]);
    }
    // CHAR pads on PostgreSQL and is stripped by MySQL: compare without the trailing blanks. Not
    // on a key, which is compared (and ordered) exactly: a CHAR(36) UUID key is full anyway, and
    // keys that differ only by trailing blanks are reported, never merged.
    const isKey = input.key.includes(l);
    if ((a.padded || b.padded) && !isKey && !rules.includes('rtrim') && !rules.includes('trim')) rules.push('rtrim');
    plans.push({ legacy: l, readModel: r, ...kind, rules, types: { legacy: lc.dataType, readModel: rc.dataType } });
  }
  if (problems.length) {
    throw new StranglerError('reconcile_columns', `Cannot reconcile entity ${input.entity}:\n  - ${problems.join('\n  - ')}`, {
      status: 400,
      details: { problems },
    });
  }
  return plans;
}
