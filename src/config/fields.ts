import { z } from 'zod';
import { validate as isValidCron } from 'node-cron';
import { redactUrl } from './redactUrl.ts';

/**
 * Field schemas shared by the sections of the migration spec. Every one of them writes its
 * own message, "expected <what>, got <value>", so an operator reading a start-up failure
 * sees what the field wants in words, not zod's type names. A missing value always reads
 * "required".
 */

/** How a bad value is shown inside a message: strings quoted, URL passwords masked, long text cut. */
export function showValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) {
    const flat = value.length <= 10 && value.every((v) => typeof v === 'number' || typeof v === 'boolean');
    return flat ? `[${value.join(', ')}]` : 'a list';
  }
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') {
    const safe = redactUrl(value);
    return JSON.stringify(safe.length > 60 ? `${safe.slice(0, 57)}...` : safe);
  }
  return String(value);
}

/** The `error` option for a schema: "required" when absent, else "expected <what>, got <value>". */
export function expected(what: string): { error: (iss: { code: string; input?: unknown }) => string | undefined } {
  return {
    error: (iss) => {
      // Unknown keys are reported one by one, with the known keys, by formatIssues.
      if (iss.code === 'unrecognized_keys') return undefined;
      return iss.input === undefined ? 'required' : `expected ${what}, got ${showValue(iss.input)}`;
    },
  };
}

/**
 * Numbers may arrive as text from `${VAR}` interpolation or an environment override
 * (`STRANGLER_PUBLIC_PORT=8081`); a decimal string is read as the number it spells.
 */
function numeric<T extends z.ZodType>(schema: T) {
  return z.preprocess((v) => (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : v), schema);
}

export function positiveInt() {
  const what = expected('a positive integer');
  return numeric(z.int(what).positive(what));
}

export function nonNegativeInt() {
  const what = expected('an integer of 0 or more');
  return numeric(z.int(what).min(0, what));
}

export function port() {
  const what = expected('a port number from 1 to 65535');
  return numeric(z.int(what).min(1, what).max(65535, what));
}

/** A fraction such as a mismatch rate: 0.01 means 1 %. */
export function rate() {
  const what = expected('a number from 0 to 1 (0.01 means 1 %)');
  return numeric(z.number(what).min(0, what).max(1, what));
}

export function percent() {
  const what = expected('a number from 0 to 100');
  return numeric(z.number(what).min(0, what).max(100, what));
}

export function bool() {
  const what = expected('true or false');
  return z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean(what));
}

export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, expected(`one of ${values.join(', ')}`));
}

export function text(what = 'a non-empty string') {
  return z.string(expected(what)).min(1, expected(what));
}

/** A string that must match a pattern; `what` says in words what the pattern allows. */
export function matching(pattern: RegExp, what: string) {
  return z.string(expected(what)).regex(pattern, expected(what));
}

const SQL_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
export function sqlIdentifier() {
  return matching(SQL_IDENTIFIER, 'a table or column name (letters, digits and _)');
}

export function httpUrl() {
  return z
    .string(expected('an http:// or https:// URL'))
    .refine((v) => parsesAs(v, ['http:', 'https:']), expected('an http:// or https:// URL'));
}

export const DATABASE_URL_WHAT = 'a postgres://, postgresql://, mysql:// or mariadb:// URL';
export function databaseUrl() {
  return z
    .string(expected(DATABASE_URL_WHAT))
    .refine((v) => parsesAs(v, ['postgres:', 'postgresql:', 'mysql:', 'mariadb:']), expected(DATABASE_URL_WHAT));
}

/** The event store is PostgreSQL or its embedded stand-in PGlite (on disk or in memory). */
export function eventStoreUrl() {
  const what = 'embedded, embedded:DIR, memory or a postgres:// URL';
  return z
    .string(expected(what))
    .refine(
      (v) => v === 'embedded' || v === 'memory' || /^embedded:.+/.test(v) || parsesAs(v, ['postgres:', 'postgresql:']),
      expected(what),
    );
}

export function cron() {
  const what = 'a cron expression (minute hour day-of-month month day-of-week) like "0 */6 * * *"';
  return z.string(expected(what)).refine((v) => isValidCron(v), expected(what));
}

/** A module or handler file: a relative or absolute path to a .ts, .mts, .js or .mjs file. */
export function modulePath() {
  return matching(/^[^\s].*\.(ts|mts|js|mjs)$/, 'a path to a .ts or .js module');
}

function parsesAs(value: string, protocols: readonly string[]): boolean {
  try {
    const url = new URL(value);
    return protocols.includes(url.protocol) && url.hostname !== '';
  } catch {
    return false;
  }
}

/** A strict mapping (a typo is an error, not an ignored setting), described as `what` in errors. */
export function section<T extends z.core.$ZodLooseShape>(shape: T, what: string) {
  return z.strictObject(shape, expected(what));
}

const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
export function header() {
  return matching(HEADER_NAME, 'an HTTP header name like x-user-id');
}
