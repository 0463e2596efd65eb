import { unprocessable } from './errors.ts';

/** Request bodies come in an envelope (`{"user": {...}}`, `{"article": {...}}`); these unwrap and check them. */

type Fields = Record<string, unknown>;

export function envelope(body: unknown, key: string): Fields {
  const inner = (body as Record<string, unknown> | undefined)?.[key];
  if (typeof inner !== 'object' || inner === null || Array.isArray(inner)) throw unprocessable(`${key} must be an object`);
  return inner as Fields;
}

export function requiredString(fields: Fields, name: string, max: number): string {
  const value = fields[name];
  if (typeof value !== 'string' || value.trim() === '') throw unprocessable(`${name} can't be blank`);
  if (value.length > max) throw unprocessable(`${name} is too long (at most ${max} characters)`);
  return value.trim();
}

/** undefined when absent; a string otherwise (null clears nullable fields). */
export function optionalString(fields: Fields, name: string, max: number, nullable = false): string | null | undefined {
  const value = fields[name];
  if (value === undefined) return undefined;
  if (value === null && nullable) return null;
  if (typeof value !== 'string') throw unprocessable(`${name} must be a string`);
  if (value.length > max) throw unprocessable(`${name} is too long (at most ${max} characters)`);
  return value;
}

const USERNAME = /^[A-Za-z0-9_.-]{1,64}$/;
export function username(value: string): string {
  if (!USERNAME.test(value)) throw unprocessable('username may hold only letters, digits, "_", "." and "-"');
  return value;
}

const EMAIL = /^[^\s@]+@[^\s@]+$/;
export function email(value: string): string {
  if (!EMAIL.test(value)) throw unprocessable('email is invalid');
  return value.toLowerCase();
}

/** "How to Train Your Dragon!" → "how-to-train-your-dragon" */
export function slugify(title: string): string {
  const slug = title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 200);
  if (!slug) throw unprocessable('title must contain a letter or a digit');
  return slug;
}

/** `?limit=&offset=` with RealWorld's defaults (20, 0). */
export function page(query: Record<string, unknown>): { limit: number; offset: number } {
  const read = (name: string, fallback: number, max: number) => {
    const raw = query[name];
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (typeof raw !== 'string' || !Number.isInteger(n) || n < 0 || n > max)
      throw unprocessable(`${name} must be an integer from 0 to ${max}`);
    return n;
  };
  return { limit: read('limit', 20, 100), offset: read('offset', 0, 1_000_000) };
}
