import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEventStore, type EventStore } from '../../src/eventstore/index.ts';
import { createPgTestDb, type TestDb } from '../harness/db.ts';

// docs/extending.md's worked example, exactly as it is in the repository: a .ts projection
// module next to a CommonJS package.json, importing strangler-sidecar/projections, loaded
// by the `strangler` command in a process of its own.
const ROOT = path.resolve(import.meta.dirname, '../..');
const SPEC = path.join(ROOT, 'examples/extending/carts/strangler.yaml');

let testDb: TestDb;
let store: EventStore;
beforeAll(async () => {
  testDb = await createPgTestDb('extending');
  store = await openEventStore({ url: testDb.url, migrate: true });
});
afterAll(async () => {
  await store?.close();
  await testDb?.drop();
});

async function strangler(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [path.join(ROOT, 'bin/strangler.mjs'), ...args], {
      cwd: ROOT,
      timeout: 90_000,
      env: { ...process.env, LOG_LEVEL: 'warn' },
    });
    return { code: 0, out: stdout, err: stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, out: e.stdout ?? '', err: e.stderr ?? '' };
  }
}

describe('docs/extending.md: the carts projection module (examples/extending/carts)', () => {
  it('is loaded by the sidecar, builds its read model, and doctor verify checks it with its fold', async () => {
    await store.append('carts-c1', [
      { type: 'CartCreated', data: { id: 'c1', owner: 'ann' } },
      { type: 'ItemAdded', data: { sku: 'TEA', quantity: 2, priceCents: 450 } },
      { type: 'ItemAdded', data: { sku: 'MUG', quantity: 1, priceCents: 1200 } },
      { type: 'CartCheckedOut', data: {} },
    ]);
    await store.append('carts-c2', [
      { type: 'CartCreated', data: { id: 'c2', owner: 'bob' } },
      { type: 'CartDeleted', data: {} },
    ]);

    const rebuilt = await strangler('projections', 'rebuild', 'carts', '--config', SPEC, '--url', testDb.url);
    expect(rebuilt.err).toBe('');
    expect(rebuilt.code).toBe(0);
    expect(rebuilt.out).toMatch(/rebuild carts v1: switched to the new tables .* 6 events/);

    const { rows: mapped } = await store.db.query<{ carts: string }>(
      `SELECT tables::jsonb->>'carts' AS carts FROM strangler_projections WHERE name = 'carts'`,
    );
    const table = mapped[0]!.carts;
    const { rows } = await store.db.query(`SELECT id, owner, items, total_cents::int AS total_cents, status FROM ${table} ORDER BY id`);
    expect(rows).toEqual([
      { id: 'c1', owner: 'ann', items: 3, total_cents: 2100, status: 'checked_out' },
      { id: 'c2', owner: 'bob', items: 0, total_cents: 0, status: 'deleted' },
    ]);

    const equal = await strangler('doctor', 'verify', 'carts-c1', '--config', SPEC, '--url', testDb.url);
    expect(equal.code).toBe(0);
    expect(equal.out).toContain('equal: the carts read model matches the stream for carts c1');

    await store.db.query(`UPDATE ${table} SET total_cents = 2000 WHERE id = 'c1'`);
    const drift = await strangler('doctor', 'verify', 'carts-c1', '--config', SPEC, '--url', testDb.url);
    expect(drift.code).toBe(1);
    expect(drift.out).toMatch(/carts\.total_cents\s+stream: 2100\s+read model: 2000/);
  }, 180_000);
});
