/**
 * For the guard's tests: a webhook receiver (a real HTTP server keeping every notification
 * with its signature header), a config built from a partial spec, and canary changes made
 * the way an operator makes them.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { changeCanary } from '../../src/canary/stateStore.ts';
import type { CanaryChange } from '../../src/canary/stages.ts';
import { configSchema, type Config } from '../../src/config/schema.ts';
import type { Executor } from '../../src/db/executor.ts';

export interface Notification {
  body: string;
  json: Record<string, unknown>;
  signature: string | undefined;
}

export interface Receiver {
  url: string;
  received: Notification[];
  /** Answers with this status from now on (default 200). */
  respondWith(status: number): void;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const received: Notification[] = [];
  let status = 200;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      if (status === 200) {
        const sig = req.headers['x-strangler-signature'];
        received.push({ body, json: JSON.parse(body) as Record<string, unknown>, signature: typeof sig === 'string' ? sig : undefined });
      }
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    respondWith: (s) => (status = s),
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** A loaded-looking Config from a partial spec (no environment, no tokens). */
export function guardConfig(spec: Record<string, unknown>): Config {
  const parsed = configSchema.parse({ legacy: { upstream: 'http://127.0.0.1:3000' }, ...spec });
  return { ...parsed, admin: { ...parsed.admin, resolvedTokens: [], disabledTokens: [] }, warnings: [] };
}

export const READS = ['GET /orders/:id'];
export const READY = { reads: READS, handled: READS };

/** An operator's change (source api, actor ops). */
export function operator(db: Executor, change: CanaryChange, entity = 'orders') {
  return changeCanary(db, {
    entity,
    change,
    actor: 'ops',
    source: 'api',
    reason: 'test step',
    steps: [10, 25, 50, 100],
    readiness: READY,
  });
}
