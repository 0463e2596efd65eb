/**
 * The sample orders service on a PostgreSQL legacy database of its own, and plain HTTP
 * helpers for reads and writes through a sidecar's public port (guard-e2e.test.ts and the
 * other read tests): each read returns its status, its X-Strangler-Source and its JSON.
 */
import { migrate, startLegacyOrders, type RunningLegacyOrders } from '../../examples/legacy-orders/index.ts';
import type { Executor } from '../../src/db/executor.ts';
import { createPgExecutor } from '../../src/db/pgExecutor.ts';
import { createPgTestDb, type TestDb } from '../harness/db.ts';

export interface SampleOnPg {
  url: string;
  legacy: Executor;
  close(): Promise<void>;
}

export async function startSampleOnPg(prefix: string): Promise<SampleOnPg> {
  const db: TestDb = await createPgTestDb(prefix);
  const legacy = createPgExecutor({ url: db.url });
  let service: RunningLegacyOrders | undefined;
  try {
    await migrate(legacy);
    service = await startLegacyOrders({ db: legacy });
  } catch (err) {
    await legacy.close();
    await db.drop();
    throw err;
  }
  return {
    url: service.url,
    legacy,
    async close() {
      await service?.close();
      await legacy.close();
      await db.drop();
    },
  };
}

export interface ReadResult {
  status: number;
  source: string | null;
  body: Record<string, unknown>;
}

export async function readVia(publicUrl: string, url: string, headers: Record<string, string> = {}): Promise<ReadResult> {
  const res = await fetch(publicUrl + url, { headers });
  const text = await res.text();
  return { status: res.status, source: res.headers.get('x-strangler-source'), body: JSON.parse(text) as Record<string, unknown> };
}

export async function postVia(publicUrl: string, url: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(publicUrl + url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (res.status >= 300) throw new Error(`POST ${url}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** Runs `fn` over `items` with at most `n` at once. */
export async function pool<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}
